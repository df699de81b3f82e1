#!/usr/bin/env python3
"""cri_pull.py SOCKET IMAGE [--creds USER:PASS] [--timeout SECONDS]: pulls IMAGE through containerd's CRI image service
(runtime.v1.ImageService/PullImage, falling back to runtime.v1alpha2) on the containerd socket
SOCKET, like `crictl pull`, and prints the image id. The CRI plugin pulls with unpacking and,
with disable_snapshot_annotations = false, passes the layer annotations and the cri.* labels
to the snapshotter: the pull path a remote snapshotter needs with containerd 1.6, whose
`ctr image pull` downloads every layer.

--creds are sent as the request's AuthConfig (username, password), as kubelet does with an
image pull secret. The messages are encoded by hand (PullImageRequest{image: ImageSpec{image},
auth: AuthConfig{username, password}}, PullImageResponse{image_ref}), so only python3-grpcio
is needed, no generated code."""
import argparse
import sys

import grpc


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(num, payload):
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def first_string(msg, num):
    i = 0
    while i < len(msg):
        key, shift = 0, 0
        while True:
            b = msg[i]; i += 1
            key |= (b & 0x7F) << shift; shift += 7
            if not b & 0x80:
                break
        n, shift = 0, 0
        while True:
            b = msg[i]; i += 1
            n |= (b & 0x7F) << shift; shift += 7
            if not b & 0x80:
                break
        if key & 7 != 2:
            raise ValueError("unexpected wire type in PullImageResponse")
        if key >> 3 == num:
            return msg[i:i + n].decode()
        i += n
    return ""


def main():
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("socket")
    ap.add_argument("image")
    ap.add_argument("--creds", default="")
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()
    req = field(1, field(1, a.image.encode()))
    if a.creds:
        user, _, password = a.creds.partition(":")
        req += field(2, field(1, user.encode()) + field(2, password.encode()))
    with grpc.insecure_channel("unix://" + a.socket) as ch:
        for version in ("v1", "v1alpha2"):
            pull = ch.unary_unary(f"/runtime.{version}.ImageService/PullImage")
            try:
                resp = pull(req, timeout=a.timeout)
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.UNIMPLEMENTED and version == "v1":
                    continue
                sys.exit(f"cri_pull: PullImage {a.image}: {e.code().name}: {e.details()}")
            print(first_string(resp, 1))
            return


if __name__ == "__main__":
    main()
