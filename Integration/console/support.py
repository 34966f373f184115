"""What the console's end-to-end tests share: a free loopback port, and a test CA with a server
certificate it signed (the TLS replica of the service, the directory's StartTLS and LDAPS)."""
import socket
import subprocess


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_ca_and_certificate(directory, name="localhost"):
    """A test CA and a server certificate it signed for `name` (and 127.0.0.1), in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Assay Test CA", "-keyout", str(directory / "ca.key"),
            "-out", str(directory / "ca.pem"))
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", str(directory / "server.key"), "-out", str(directory / "server.csr"))
    (directory / "san.ext").write_text(f"subjectAltName=DNS:{name},IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", str(directory / "server.csr"), "-CA", str(directory / "ca.pem"), "-CAkey", str(directory / "ca.key"),
            "-CAcreateserial", "-days", "2", "-extfile", str(directory / "san.ext"), "-out", str(directory / "server.pem"))
    return directory / "ca.pem", directory / "server.pem", directory / "server.key"
