"""Policy: rules in code, overridable by a policy file, enforced with the
project as the target."""

import subprocess
import sys
from pathlib import Path

import pytest
from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_policy import opts as policy_opts
from oslo_policy import policy as oslo_policy

from zaqar_core import policy
from zaqar_core.api import errors


def enforcer_with(conf: cfg.ConfigOpts, tmp_path: Path,
                  rules: str | None = None) -> oslo_policy.Enforcer:
    """An enforcer reading ``rules`` (YAML) as its policy file."""
    policy_opts.set_defaults(conf)
    path = tmp_path / 'policy.yaml'
    if rules is not None:
        path.write_text(rules)
    conf.set_override('policy_file', str(path), group='oslo_policy')
    return policy.make_enforcer(conf)


def member_of(project: str, *roles: str) -> oslo_context.RequestContext:
    return oslo_context.RequestContext(project_id=project, roles=list(roles))


def test_the_defaults_allow(conf: cfg.ConfigOpts, tmp_path: Path) -> None:
    enforcer = enforcer_with(conf, tmp_path)
    policy.authorize(enforcer, 'messages:create', member_of('alpha'),
                     'alpha')


def test_a_policy_file_can_deny_a_rule(conf: cfg.ConfigOpts,
                                       tmp_path: Path) -> None:
    enforcer = enforcer_with(conf, tmp_path, '"messages:create": "!"\n')
    with pytest.raises(errors.Forbidden):
        policy.authorize(enforcer, 'messages:create', member_of('alpha'),
                         'alpha')


def test_an_override_leaves_other_rules_alone(conf: cfg.ConfigOpts,
                                              tmp_path: Path) -> None:
    enforcer = enforcer_with(conf, tmp_path, '"messages:create": "!"\n')
    policy.authorize(enforcer, 'messages:get', member_of('alpha'), 'alpha')


def test_a_role_rule_checks_the_roles(conf: cfg.ConfigOpts,
                                      tmp_path: Path) -> None:
    enforcer = enforcer_with(conf, tmp_path,
                             '"queues:delete": "role:admin"\n')
    policy.authorize(enforcer, 'queues:delete', member_of('alpha', 'admin'),
                     'alpha')
    with pytest.raises(errors.Forbidden):
        policy.authorize(enforcer, 'queues:delete',
                         member_of('alpha', 'member'), 'alpha')


def test_the_target_carries_the_project(conf: cfg.ConfigOpts,
                                        tmp_path: Path) -> None:
    enforcer = enforcer_with(
        conf, tmp_path, '"queues:get": "project_id:%(project_id)s"\n')
    policy.authorize(enforcer, 'queues:get', member_of('alpha'), 'alpha')
    with pytest.raises(errors.Forbidden):
        policy.authorize(enforcer, 'queues:get', member_of('alpha'), 'beta')


def test_admin_or_owner_admits_the_owner_only(conf: cfg.ConfigOpts,
                                              tmp_path: Path) -> None:
    enforcer = enforcer_with(conf, tmp_path,
                             '"queues:stats": "rule:admin_or_owner"\n')
    policy.authorize(enforcer, 'queues:stats', member_of('alpha'), 'alpha')
    with pytest.raises(errors.Forbidden):
        policy.authorize(enforcer, 'queues:stats', member_of('beta'),
                         'alpha')


def test_without_a_context_the_project_is_the_caller(
        conf: cfg.ConfigOpts, tmp_path: Path) -> None:
    enforcer = enforcer_with(
        conf, tmp_path, '"queues:get": "project_id:%(project_id)s"\n')
    policy.authorize(enforcer, 'queues:get', None, 'alpha')


def test_every_rule_an_action_names_is_registered(conf: cfg.ConfigOpts,
                                                  tmp_path: Path) -> None:
    from zaqar_core.api.v2 import actions  # noqa: F401 (registers them)
    from zaqar_core.api.v2 import registry
    enforcer = enforcer_with(conf, tmp_path)
    named = {a.rule for a in registry.ACTIONS.values() if a.rule}
    assert named - set(enforcer.registered_rules) == set()


def test_policy_file_edits_apply_without_a_restart(
        conf: cfg.ConfigOpts, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    enforcer = enforcer_with(conf, tmp_path, '"messages:create": "!"\n')
    with pytest.raises(errors.Forbidden):
        policy.authorize(enforcer, 'messages:create', member_of('a'), 'a')
    (tmp_path / 'policy.yaml').write_text('"messages:create": ""\n')
    # Within the interval the file is not looked at again...
    with pytest.raises(errors.Forbidden):
        policy.authorize(enforcer, 'messages:create', member_of('a'), 'a')
    # ...after it, the edit applies.
    monkeypatch.setattr(policy, 'RELOAD_CHECK_INTERVAL', 0.0)
    policy.authorize(enforcer, 'messages:create', member_of('a'), 'a')


def test_remembered_decisions_are_per_credentials_and_target(
        conf: cfg.ConfigOpts, tmp_path: Path) -> None:
    enforcer = enforcer_with(conf, tmp_path,
                             '"messages:create": "role:admin or '
                             'project_id:%(project_id)s"\n')
    for _ in range(2):  # the second round is answered from memory
        policy.authorize(enforcer, 'messages:create', member_of('a'), 'a')
        policy.authorize(enforcer, 'messages:create',
                         member_of('b', 'admin'), 'a')
        with pytest.raises(errors.Forbidden):
            policy.authorize(enforcer, 'messages:create', member_of('b'),
                             'a')
        with pytest.raises(errors.Forbidden):
            policy.authorize(enforcer, 'messages:create', member_of('a'),
                             'c')


def test_remembered_decisions_tell_every_policy_value_apart() -> None:
    # The key is read from the context's attributes, not from its policy
    # values: each of those values must still change it.
    base = oslo_context.RequestContext(project_id='p', roles=['member'])
    names = list(base.to_policy_values())
    assert 'roles' in names and 'project_id' in names
    for name in names:
        other = oslo_context.RequestContext(project_id='p', roles=['member'])
        value = getattr(other, name)
        setattr(other, name, ['x'] if isinstance(value, list) else
                (not value) if isinstance(value, bool) else 'x')
        assert other.to_policy_values()[name] != \
            base.to_policy_values()[name]
        assert policy._policy_key(other) != policy._policy_key(base), name
    assert policy._policy_key(base) == policy._policy_key(
        oslo_context.RequestContext(project_id='p', roles=['member']))


def test_loading_the_policy_module_sets_no_request_context() -> None:
    # Log lines name the thread's current context: a server's start-up
    # lines named one made at import before.
    probe = ('from oslo_context import context; from zaqar_core import '
             'policy; assert context.get_current() is None, '
             'vars(context.get_current())')
    subprocess.run([sys.executable, '-c', probe], check=True)
