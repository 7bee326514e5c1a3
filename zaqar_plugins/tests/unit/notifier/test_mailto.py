"""The mailto notifier: SMTP to a loopback aiosmtpd server (plain,
STARTTLS, SSL), and sendmail-style commands."""

from __future__ import annotations

import email
import email.message
import email.policy
import json
import shlex
import sys
import urllib.parse
from collections.abc import Iterator

import pytest
from oslo_config import cfg

from zaqar_core.notification import base
from zaqar_plugins.notifier import mailto
from zaqar_plugins.tests.unit.notifier import samples
from zaqar_testing import receivers
from zaqar_testing.ports import refusing_address

SUBSCRIBE = 'subscription_confirmation_email_template'
UNSUBSCRIBE = 'unsubscribe_confirmation_email_template'


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


@pytest.fixture
def inbox() -> receivers.Inbox:
    return receivers.Inbox()


@pytest.fixture
def smtp_conf(conf: cfg.ConfigOpts) -> cfg.ConfigOpts:
    conf.set_override('smtp_mode', 'self_local', group='notification')
    conf.set_override('smtp_host', '127.0.0.1', group='notification')
    conf.set_override('smtp_security', 'none', group='notification')
    conf.set_override('external_confirmation_url',
                      'https://confirm.test/zaqar', group='notification')
    return conf


@pytest.fixture
def plain(smtp_conf, inbox) -> Iterator[mailto.MailNotifier]:
    """A notifier and the plain SMTP server it talks to."""
    with receivers.SMTPServer(inbox) as server:
        smtp_conf.set_override('smtp_port', server.port, group='notification')
        yield mailto.MailNotifier(smtp_conf)


def one_mail(inbox: receivers.Inbox) -> email.message.EmailMessage:
    [envelope] = inbox.envelopes
    return parse(envelope.content)


# Notifications


def test_notify_mails_the_message_as_json(plain, inbox, make_target):
    target = make_target('mailto:ops@example.test?subject=Backups',
                         **{'from': 'Zaqar <zaqar@example.test>'})

    plain.notify(target, samples.MESSAGE)

    [envelope] = inbox.envelopes
    assert envelope.mail_from == 'zaqar@example.test'
    assert envelope.rcpt_tos == ['ops@example.test']
    mail = parse(envelope.content)
    assert mail['From'] == 'Zaqar <zaqar@example.test>'
    assert mail['To'] == 'ops@example.test'
    assert mail['Subject'] == 'Backups'
    assert mail['Date']
    assert json.loads(mail.get_content()) == samples.MESSAGE
    # Indented, keys sorted (lines end in CRLF on the SMTP wire).
    assert mail.get_content().replace('\r\n', '\n').startswith(
        '{\n  "Message_Type": "Notification",\n  "body": {\n')


def test_notify_to_several_addresses(plain, inbox, make_target):
    plain.notify(make_target('mailto:a@example.test,%20b%40example.test'),
                 samples.MESSAGE)

    [envelope] = inbox.envelopes
    assert envelope.rcpt_tos == ['a@example.test', 'b@example.test']
    assert parse(envelope.content)['To'] == 'a@example.test, b@example.test'


def test_subject_from_the_uri_then_options_then_default(plain, inbox,
                                                       make_target):
    plain.notify(make_target('mailto:a@example.test?SUBJECT=Hi%20there',
                             subject='ignored'), samples.MESSAGE)
    plain.notify(make_target('mailto:a@example.test', subject='From options'),
                 samples.MESSAGE)
    plain.notify(make_target('mailto:a@example.test'), samples.MESSAGE)

    assert [parse(e.content)['Subject'] for e in inbox.envelopes] == [
        'Hi there', 'From options', 'Zaqar Notification - orders']


def test_sender_defaults_to_the_template_sender(plain, inbox, make_target):
    plain.notify(make_target('mailto:a@example.test'), samples.MESSAGE)

    assert one_mail(inbox)['From'] == \
        'Zaqar Notifications <no-reply@openstack.org>'


def test_header_injection_is_final(plain, inbox, make_target):
    target = make_target('mailto:a@example.test',
                         subject='Hi\r\nBcc: victim@example.test')

    with pytest.raises(base.DeliveryFailed) as failure:
        plain.notify(target, samples.MESSAGE)

    assert failure.value.retryable is False
    assert inbox.envelopes == []


def test_prepare_needs_an_address(conf):
    notifier = mailto.MailNotifier(conf)
    options = {'subject': 's'}

    assert notifier.prepare('mailto:a@example.test', options, 60,
                            None) is options
    with pytest.raises(base.SubscriberRejected):
        notifier.prepare('mailto:?subject=nobody', options, 60, None)


# SMTP outcomes


@pytest.mark.parametrize('reply,retryable', [
    ('451 4.3.0 Mail server temporarily rejected message', True),
    ('452 4.3.1 Insufficient system storage', True),
    ('554 5.7.1 Message rejected', False),
    ('552 5.3.4 Message too big', False),
])
def test_smtp_replies_are_classified(plain, inbox, make_target, reply,
                                     retryable):
    inbox.reply = reply

    with pytest.raises(base.DeliveryFailed) as failure:
        plain.notify(make_target('mailto:a@example.test'), samples.MESSAGE)

    assert failure.value.retryable is retryable
    assert reply[:3] in str(failure.value)


def test_smtp_connection_refused_is_retryable(smtp_conf, make_target):
    with refusing_address() as address:
        smtp_conf.set_override('smtp_port', int(address.split(':')[1]),
                               group='notification')
        with pytest.raises(base.DeliveryFailed) as failure:
            mailto.MailNotifier(smtp_conf).notify(
                make_target('mailto:a@example.test'), samples.MESSAGE)

    assert failure.value.retryable is True


def test_smtp_host_unset_is_final(conf, make_target):
    conf.set_override('smtp_mode', 'self_local', group='notification')

    with pytest.raises(base.DeliveryFailed, match='smtp_host') as failure:
        mailto.MailNotifier(conf).notify(make_target('mailto:a@example.test'),
                                         samples.MESSAGE)

    assert failure.value.retryable is False


# TLS and login


@pytest.fixture
def trusted_ca(monkeypatch, tls_files) -> None:
    """Have ssl's default context trust the test CA (as an operator would
    with SSL_CERT_FILE)."""
    monkeypatch.setenv('SSL_CERT_FILE', str(tls_files.ca))


def login(conf: cfg.ConfigOpts, user: str, password: str) -> None:
    conf.set_override('smtp_user_name', user, group='notification')
    conf.set_override('smtp_user_password', password, group='notification')


def implicit_tls_auth(inbox: receivers.Inbox) -> dict:
    # aiosmtpd counts only STARTTLS as TLS when it decides to offer AUTH;
    # over its SSL listener the whole session is encrypted anyway.
    return {'authenticator': inbox.authenticator('zaqar', 'mail-secret'),
            'auth_require_tls': False}


@pytest.mark.usefixtures('trusted_ca')
def test_starttls_and_login(smtp_conf, inbox, tls_files, make_target):
    smtp_conf.set_override('smtp_security', 'starttls', group='notification')
    login(smtp_conf, 'zaqar', 'mail-secret')
    with receivers.SMTPServer(inbox, tls_context=tls_files.server_context(),
                            require_starttls=True,
                            authenticator=inbox.authenticator(
                                'zaqar', 'mail-secret')) as server:
        smtp_conf.set_override('smtp_port', server.port, group='notification')
        mailto.MailNotifier(smtp_conf).notify(
            make_target('mailto:a@example.test'), samples.MESSAGE)

    assert inbox.logins == [('zaqar', 'mail-secret')]
    assert json.loads(one_mail(inbox).get_content()) == samples.MESSAGE


@pytest.mark.usefixtures('trusted_ca')
def test_ssl_and_login(smtp_conf, inbox, tls_files, make_target):
    smtp_conf.set_override('smtp_security', 'ssl', group='notification')
    login(smtp_conf, 'zaqar', 'mail-secret')
    with receivers.SMTPServer(inbox, ssl_context=tls_files.server_context(),
                            **implicit_tls_auth(inbox)) as server:
        smtp_conf.set_override('smtp_port', server.port, group='notification')
        mailto.MailNotifier(smtp_conf).confirm(
            make_target('mailto:a@example.test'), samples.confirmation())

    assert inbox.logins == [('zaqar', 'mail-secret')]
    assert one_mail(inbox)['Subject'] == \
        'Zaqar Notification - Subscription Confirmation'


@pytest.mark.usefixtures('trusted_ca')
def test_wrong_password_is_final(smtp_conf, inbox, tls_files, make_target):
    smtp_conf.set_override('smtp_security', 'ssl', group='notification')
    login(smtp_conf, 'zaqar', 'wrong')
    with receivers.SMTPServer(inbox, ssl_context=tls_files.server_context(),
                            **implicit_tls_auth(inbox)) as server:
        smtp_conf.set_override('smtp_port', server.port, group='notification')
        with pytest.raises(base.DeliveryFailed) as failure:
            mailto.MailNotifier(smtp_conf).notify(
                make_target('mailto:a@example.test'), samples.MESSAGE)

    assert failure.value.retryable is False
    assert '535' in str(failure.value)
    assert inbox.envelopes == []


def test_untrusted_certificate_is_final(smtp_conf, inbox, tls_files,
                                        make_target):
    smtp_conf.set_override('smtp_security', 'ssl', group='notification')
    with receivers.SMTPServer(inbox,
                            ssl_context=tls_files.server_context()) as server:
        smtp_conf.set_override('smtp_port', server.port, group='notification')
        with pytest.raises(base.DeliveryFailed) as failure:
            mailto.MailNotifier(smtp_conf).notify(
                make_target('mailto:a@example.test'), samples.MESSAGE)

    assert failure.value.retryable is False
    assert inbox.envelopes == []


# Confirmations


def link_of(mail: email.message.EmailMessage) -> urllib.parse.SplitResult:
    body = mail.get_content()
    return urllib.parse.urlsplit(body[body.index('https://'):].split()[0])


def test_confirmation_mail(plain, inbox, make_target):
    document = samples.confirmation(
        WSGISubscribeURL='http://zaqar.test:8888/v2/queues/orders/'
                         'subscriptions/5a1c/confirm')

    plain.confirm(make_target('mailto:a@example.test', **{
        'from': 'not-used@example.test'}), document)

    mail = one_mail(inbox)
    assert mail['From'] == 'Zaqar Notifications <no-reply@openstack.org>'
    assert mail['To'] == 'a@example.test'
    assert mail['Subject'] == 'Zaqar Notification - Subscription Confirmation'
    assert mail.get_content().startswith(
        'You have chosen to subscribe to the queue: orders. This queue '
        'belongs to project: proj-7. To confirm this subscription, click '
        'or visit this link below: https://confirm.test/zaqar?')
    link = link_of(mail)
    assert link.netloc == 'confirm.test' and link.path == '/zaqar'
    assert urllib.parse.parse_qsl(link.query) == [
        ('Signature', document['URL-Signature']), ('Methods', 'PUT'),
        ('Paths', document['URL-Paths']), ('Project', 'proj-7'),
        ('Expires', document['URL-Expires']),
        ('Url', document['WSGISubscribeURL']), ('Queue', 'orders')]


def test_unsubscribe_mail_without_wsgi_url(plain, inbox, make_target):
    plain.confirm(make_target('mailto:a@example.test'),
                  samples.confirmation('UnsubscribeConfirmation'))

    mail = one_mail(inbox)
    assert mail['Subject'] == 'Zaqar Notification - Unsubscribe Confirmation'
    assert mail.get_content().startswith(
        'You have unsubscribed successfully to the queue: orders.')
    assert [name for name, _ in urllib.parse.parse_qsl(
        link_of(mail).query)] == ['Signature', 'Methods', 'Paths', 'Project',
                                  'Expires', 'Queue']


def test_custom_template_and_a_page_with_a_query(plain, inbox, make_target):
    conf = plain.conf
    conf.set_override(SUBSCRIBE, {
        'topic': 'Confirm {0}', 'sender': 'ops@example.test',
        'body': 'Queue {0} of {1}: {2}'}, group='notification')
    conf.set_override('external_confirmation_url',
                      'https://confirm.test/page?lang=en',
                      group='notification')

    plain.confirm(make_target('mailto:a@example.test'),
                  samples.confirmation())

    mail = one_mail(inbox)
    assert mail['From'] == 'ops@example.test'
    assert mail['Subject'] == 'Confirm {0}'  # the topic is not a template
    assert mail.get_content().startswith(
        'Queue orders of proj-7: https://confirm.test/page?lang=en&'
        'Signature=')


def test_confirmation_needs_the_external_page(conf, make_target):
    with pytest.raises(base.DeliveryFailed,
                       match='external_confirmation_url is not set'
                       ) as failure:
        mailto.MailNotifier(conf).confirm(
            make_target('mailto:a@example.test'), samples.confirmation())

    assert failure.value.retryable is False


def test_bad_template_body_is_final(plain, inbox, make_target):
    plain.conf.set_override(UNSUBSCRIBE, {'topic': 't', 'sender': 's@x.test',
                                          'body': 'link: {3}'},
                            group='notification')

    with pytest.raises(base.DeliveryFailed) as failure:
        plain.confirm(make_target('mailto:a@example.test'),
                      samples.confirmation('UnsubscribeConfirmation'))

    assert failure.value.retryable is False


# third_part: smtp_command


SENDMAIL = '''\
import pathlib, sys
pathlib.Path(sys.argv[1]).write_bytes(sys.stdin.buffer.read())
sys.exit(int(sys.argv[2]))
'''


def command(conf: cfg.ConfigOpts, *argv: str) -> None:
    conf.set_override('smtp_mode', 'third_part', group='notification')
    conf.set_override('smtp_command', shlex.join(argv), group='notification')


@pytest.fixture
def sendmail(tmp_path) -> list[str]:
    """A fake sendmail writing its stdin to ``mail.eml`` and exiting with
    the status given after it."""
    script = tmp_path / 'sendmail.py'
    script.write_text(SENDMAIL)
    return [sys.executable, str(script), str(tmp_path / 'mail.eml')]


def test_command_gets_the_mail_on_stdin(conf, sendmail, tmp_path,
                                        make_target):
    command(conf, *sendmail, '0')

    mailto.MailNotifier(conf).notify(
        make_target('mailto:a@example.test?subject=Hello',
                    **{'from': 'zaqar@example.test'}), samples.MESSAGE)

    mail = parse((tmp_path / 'mail.eml').read_bytes())
    assert (mail['From'], mail['To'], mail['Subject']) == (
        'zaqar@example.test', 'a@example.test', 'Hello')
    assert json.loads(mail.get_content()) == samples.MESSAGE


def test_command_confirmation(conf, sendmail, tmp_path, make_target):
    command(conf, *sendmail, '0')
    conf.set_override('external_confirmation_url', 'https://confirm.test/',
                      group='notification')

    mailto.MailNotifier(conf).confirm(make_target('mailto:a@example.test'),
                                      samples.confirmation())

    mail = parse((tmp_path / 'mail.eml').read_bytes())
    assert mail['Subject'] == 'Zaqar Notification - Subscription Confirmation'
    assert 'https://confirm.test/?Signature=' in mail.get_content()


def test_command_failure_is_retryable(conf, sendmail, make_target):
    command(conf, *sendmail, '75')  # EX_TEMPFAIL

    with pytest.raises(base.DeliveryFailed, match='status 75') as failure:
        mailto.MailNotifier(conf).notify(
            make_target('mailto:a@example.test'), samples.MESSAGE)

    assert failure.value.retryable is True


def test_command_timeout_is_retryable(conf, make_target):
    command(conf, sys.executable, '-c', 'import time; time.sleep(30)')
    notifier = mailto.MailNotifier(conf)
    notifier.timeout = 0.3

    with pytest.raises(base.DeliveryFailed) as failure:
        notifier.notify(make_target('mailto:a@example.test'), samples.MESSAGE)

    assert failure.value.retryable is True


@pytest.mark.parametrize('smtp_command', [
    '/nonexistent/sendmail -t', '', '"unbalanced'])
def test_unusable_command_is_final(conf, make_target, smtp_command):
    conf.set_override('smtp_command', smtp_command, group='notification')

    with pytest.raises(base.DeliveryFailed) as failure:
        mailto.MailNotifier(conf).notify(
            make_target('mailto:a@example.test'), samples.MESSAGE)

    assert failure.value.retryable is False
