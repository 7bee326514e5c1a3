"""``zaqar-bench``: load generator for servers speaking the Zaqar v2 API.

Producers post message batches, consumers claim and delete, observers
page through queues. Each role runs as N processes of M concurrent
workers; every process is one asyncio event loop whose workers share
nothing but their statistics. Modules:

* ``cli``: options, the run as a whole, exit status.
* ``config``: the options as one immutable value handed to every process.
* ``http``: a lean keep-alive HTTP/1.1 client and its response parser.
* ``ws``: a lean WebSocket client (framing, pings, close handshake,
  pipelined requests matched to replies in order, pushes skipped).
* ``api``: the Zaqar v2 requests, encoded once, for either transport
  (``--transport http|ws``): the one seam between roles and transports.
* ``roles``: the producer, consumer and observer loops.
* ``runner``: processes, synchronized start, progress, merging results.
* ``prepare``: before the timed run: reach the server, create the
  queues, post the backlog (``--prefill``).
* ``stats``: counters and latency histograms that merge across processes.
* ``report``: the human table and the JSON line.
* ``selfcheck``: how much the bench itself costs, against a trivial
  server (``zaqar-bench --self-check``), compared with wrk.
"""
