"""The baseline nameko service: an RPC that returns its argument."""
from nameko.rpc import rpc


class EchoService:
    name = "bench_echo"

    @rpc
    def echo(self, value=None):
        return value
