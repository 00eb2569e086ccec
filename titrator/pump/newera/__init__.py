"""The New Era serial pump driver: link, codec, replies, setup, poller and the driver itself."""
