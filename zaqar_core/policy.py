"""The policy enforcer: rules in code, overridable by policy.yaml."""

from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_policy import opts as policy_opts
from oslo_policy import policy

from zaqar_core import policies
from zaqar_core.api import errors


def make_enforcer(conf: cfg.ConfigOpts) -> policy.Enforcer:
    """An enforcer knowing every rule; reads ``[oslo_policy] policy_file``
    (``policy.yaml`` by default) if present."""
    policy_opts.set_defaults(conf, 'policy.yaml')
    enforcer = policy.Enforcer(conf)
    enforcer.register_defaults(policies.list_rules())
    return enforcer


def get_enforcer() -> policy.Enforcer:
    """For oslopolicy-* tools (``oslo.policy.enforcer`` entry point)."""
    conf = cfg.ConfigOpts()
    conf([], project='zaqar')
    return make_enforcer(conf)


def authorize(enforcer: policy.Enforcer, rule: str,
              context: oslo_context.RequestContext | None,
              project_id: str) -> None:
    """Raise Forbidden unless ``context`` may apply ``rule`` to resources
    of ``project_id``."""
    context = context or oslo_context.RequestContext(project_id=project_id)
    target = {'project_id': project_id}
    try:
        allowed = enforcer.enforce(rule, target, context)
    except policy.InvalidScope:
        allowed = False
    if not allowed:
        raise errors.Forbidden(
            'You are not authorized to complete this action.')
