#!/usr/bin/python3
"""One unary gRPC call over a unix socket, for the CRI tests (tests/cri.rs).

    python3 grpc_call.py SOCKET /package.Service/Method TIMEOUT_SECONDS < request > response

The request's protobuf bytes come on stdin and the response's go to stdout: the test encodes and
decodes the messages itself (containerd_support/proto.rs), so this is only the HTTP/2 transport
(python3-grpcio; crictl is not in Debian). A gRPC error prints "CODE: details" on stderr and
exits 1.
"""
import sys

import grpc


def main():
    socket, method, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    request = sys.stdin.buffer.read()
    with grpc.insecure_channel("unix://" + socket) as channel:
        # No (de)serializers: bytes in, bytes out.
        call = channel.unary_unary(method)
        try:
            response = call(request, timeout=timeout)
        except grpc.RpcError as e:
            sys.stderr.write(f"{e.code().name}: {e.details()}\n")
            return 1
    sys.stdout.buffer.write(response)
    return 0


if __name__ == "__main__":
    sys.exit(main())
