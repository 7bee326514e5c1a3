-- wrk script: one message post, as the Zaqar API expects it.
-- wrk -t2 -c16 -d10s --latency -s tools/perf/post.lua \
--     http://127.0.0.1:8888/v2/queues/q/messages
wrk.method = "POST"
wrk.body = '{"messages": [{"body": {"event": "resize", "id": 42}, "ttl": 300}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Client-ID"] = "3b7a8c0e-1111-4bb5-9a3c-7a0f1e2d3c4b"
wrk.headers["X-Project-Id"] = "p"
