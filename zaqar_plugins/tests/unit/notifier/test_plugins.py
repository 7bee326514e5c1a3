"""The notifiers as the outbox finds them: stevedore, by URI scheme."""

from __future__ import annotations

import pytest
from stevedore import driver

from zaqar_core.conf import opts
from zaqar_core.notification import base
from zaqar_plugins.notifier import mailto
from zaqar_plugins.notifier import trust
from zaqar_plugins.notifier import webhook

NAMESPACE = 'zaqar_core.notifiers'


@pytest.mark.parametrize('scheme,cls', [
    ('http', webhook.WebhookNotifier), ('https', webhook.WebhookNotifier),
    ('mailto', mailto.MailNotifier), ('trust+http', trust.TrustNotifier),
    ('trust+https', trust.TrustNotifier),
])
def test_each_subscriber_type_has_a_notifier(conf, scheme, cls):
    # The default [transport] subscriber_types must all be served.
    assert scheme in conf.transport.subscriber_types
    manager = driver.DriverManager(NAMESPACE, scheme, invoke_on_load=True,
                                   invoke_args=(conf,))

    assert type(manager.driver) is cls
    assert isinstance(manager.driver, base.NotifierBase)
    assert manager.driver.conf is conf


def test_trustee_options_are_listed_for_the_sample_config():
    names = {opt.dest for opt in dict(opts.list_opts())['trustee']}

    assert {'auth_type', 'auth_section', 'auth_url', 'username', 'password',
            'user_domain_name', 'cafile', 'insecure', 'timeout'} <= names


def test_trustee_group_is_registered(conf):
    assert conf.trustee.auth_type is None
    assert conf.trustee.timeout is None
