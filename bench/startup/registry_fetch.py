#!/usr/bin/env python3
"""Small OCI distribution client for bench/startup_bench.sh (plain http registries only).

  registry_fetch.py bootstrap HOST REPO TAG OUT
      Resolves REPO:TAG (an index is followed to linux/amd64), downloads the layer annotated
      containerd.io/snapshot/nydus-bootstrap=true and writes its image/image.boot to OUT.
      This is what a snapshotter does before it starts nydusd; the bench times it.
  registry_fetch.py size HOST REPO TAG
      Prints the sum of the manifest's layer sizes (the bytes a full pull downloads) and the
      layer count: "BYTES LAYERS".
"""
import gzip
import io
import json
import os
import sys
import tarfile
import urllib.request

ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])
BOOT_ANNO = "containerd.io/snapshot/nydus-bootstrap"


def get(url, accept=None):
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=120) as r:
        return r.read()


def manifest(host, repo, ref):
    body = json.loads(get(f"http://{host}/v2/{repo}/manifests/{ref}", ACCEPT))
    if "manifests" in body:  # an index: pick linux/amd64, nydus first
        cands = [m for m in body["manifests"]
                 if m.get("platform", {}).get("os", "linux") == "linux"
                 and m.get("platform", {}).get("architecture", "amd64") == "amd64"]
        if not cands:
            sys.exit(f"{repo}:{ref}: no linux/amd64 manifest in the index")
        cands.sort(key=lambda m: "nydus.remoteimage.v1" not in
                   m.get("platform", {}).get("os.features", []))
        body = json.loads(get(f"http://{host}/v2/{repo}/manifests/{cands[0]['digest']}", ACCEPT))
    return body


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "size":
        _, _, host, repo, tag = sys.argv[:5]
        m = manifest(host, repo, tag)
        print(sum(l["size"] for l in m["layers"]), len(m["layers"]))
        return
    if len(sys.argv) != 6 or sys.argv[1] != "bootstrap":
        sys.exit(__doc__)
    _, _, host, repo, tag, out = sys.argv
    m = manifest(host, repo, tag)
    boot = [l for l in m["layers"] if l.get("annotations", {}).get(BOOT_ANNO) == "true"]
    if not boot:
        sys.exit(f"{repo}:{tag} has no nydus bootstrap layer")
    data = get(f"http://{host}/v2/{repo}/blobs/{boot[0]['digest']}")
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as t:
        member = next((x for x in t if x.name.lstrip("./") == "image/image.boot"), None)
        if member is None:
            sys.exit("bootstrap layer has no image/image.boot")
        src = t.extractfile(member)
        tmp = out + ".tmp"
        with open(tmp, "wb") as f:
            f.write(src.read())
        os.rename(tmp, out)


if __name__ == "__main__":
    main()
