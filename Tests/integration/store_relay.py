"""A TCP relay in front of the test object store that can be frozen: what the nodes see when the store process is
SIGSTOPped, without stopping a store other test modules share (test_s3_cluster.py, test_s3_tus_off_loop.py)."""
import socket
import threading


class StoreRelay:
    """A TCP relay in front of the store. `freeze()` stops moving bytes (connections stay open, new ones are
    accepted by the kernel but not served), as a SIGSTOPped store behaves; `thaw()` goes on."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.running = threading.Event()
        self.running.set()
        self.closed = False
        # The first bytes of each chunk a node sent while the relay was frozen (its request lines), so a test
        # can tell which store call is held.
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self):
        self.running.clear()

    def thaw(self):
        self.running.set()

    def close(self):
        self.closed = True
        self.running.set()
        self.listener.close()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        if not self.running.is_set():
            # A connection opened while frozen: its first request is held too (peeked, left for the upstream).
            try:
                first = client.recv(300, socket.MSG_PEEK)
            except OSError:
                first = b""
            if not self.running.is_set():
                self.held.append(first)
        self.running.wait()
        try:
            upstream = socket.create_connection(self.upstream, timeout=30)
        except OSError:
            client.close()
            return
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        self._pump(client, upstream)

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not self.running.is_set():
                    self.held.append(data[:300])
                self.running.wait()
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
