"""The transport-independent API: each v2 action is implemented once here
and adapted by every transport."""
