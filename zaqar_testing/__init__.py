"""The test harness: the real servers the tests, CI and ``tools/`` start
(zaqar-server, Redis, throwaway databases, Keystone, webhook and SMTP
receivers), on free loopback ports, and what makes sure none of them
outlives the test run that started it.

A test run (see :mod:`.run`) has an id that every process it starts
inherits in its environment and every database it creates carries in
its name. Fixtures stop what they started; when the run ends however it
ends (pass, failure, Ctrl-C, SIGTERM, SIGKILL), the run's janitor
(:mod:`.janitor`) removes whatever is left by that id, and
``python -m zaqar_testing.leftovers`` checks, in CI, that nothing is.
"""
