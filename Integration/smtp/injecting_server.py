"""A hostile SMTP server for one test (RFC 3207 §5): it agrees to STARTTLS and, in the same
packet as its 220, pipelines replies of its own, as a man in the middle would to have them read
after the TLS handshake. Prints "ready <port>"; writes each line it receives to --log; runs until
its stdin closes."""
import argparse
import socket
import sys
import threading


def serve(connection, log):
    with connection, open(log, "ab") as record:
        reader = connection.makefile("rb")
        connection.sendall(b"220 injector ESMTP\r\n")
        for line in reader:
            record.write(line)
            record.flush()
            command = line.strip().upper()
            if command.startswith(b"EHLO"):
                connection.sendall(b"250-injector\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n")
            elif command == b"STARTTLS":
                connection.sendall(b"220 go ahead\r\n250-injected\r\n250 AUTH PLAIN\r\n")
            elif line[:1] == b"\x16":  # a TLS ClientHello: the client went on regardless
                return
            else:
                connection.sendall(b"250 ok\r\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    arguments = parser.parse_args()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def accept():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(connection, arguments.log), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    print(f"ready {listener.getsockname()[1]}", flush=True)
    sys.stdin.read()  # until the test that started it ends
    listener.close()


if __name__ == "__main__":
    main()
