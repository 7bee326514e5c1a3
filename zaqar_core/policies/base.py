"""Rules every other policy module refers to."""

from oslo_policy import policy

ROLE_ADMIN = 'role:admin'
UNPROTECTED = ''

rules = [
    policy.RuleDefault('context_is_admin', ROLE_ADMIN,
                       description='Who counts as an administrator.'),
    policy.RuleDefault('admin_or_owner',
                       'is_admin:True or project_id:%(project_id)s',
                       description='An administrator, or a member of the '
                                   'project that owns the resource.'),
]


def list_rules() -> list:
    return rules


def rule(name: str, method: str, path: str, description: str,
         check_str: str = UNPROTECTED) -> policy.DocumentedRuleDefault:
    """A documented rule for one API operation."""
    return policy.DocumentedRuleDefault(
        name=name, check_str=check_str, description=description,
        operations=[{'path': path, 'method': method}])
