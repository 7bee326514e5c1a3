"""``mailto`` subscribers: ``mailto:addr[,addr2...][?subject=...]``.

A notification is a mail whose body is the message as indented JSON:
To the URI's addresses, From the ``from`` option (else the sender of the
confirmation template), Subject the URI's ``subject`` (else the
``subject`` option, else :data:`DEFAULT_SUBJECT`). Confirmations are the
mails of ``[notification] subscription_confirmation_email_template`` and
``unsubscribe_confirmation_email_template``, linking to
``external_confirmation_url``.

``[notification] smtp_mode`` says how mail leaves: ``third_part`` pipes it
to ``smtp_command`` (sendmail), ``self_local`` speaks SMTP to
``smtp_host`` (``smtp_security``: ssl, starttls or none; a login when
``smtp_user_name`` is set). Server certificates are checked against the
system's CAs (``SSL_CERT_FILE`` adds others), unlike upstream Zaqar.
"""

from __future__ import annotations

import email.errors
import email.utils
import json
import shlex
import shutil
import smtplib
import ssl
import subprocess
import urllib.parse
from email.message import EmailMessage
from typing import Any

from oslo_context import context as oslo_context
from oslo_log import log

from zaqar_core.notification import base

LOG = log.getLogger(__name__)

DEFAULT_SUBJECT = 'Zaqar Notification - {queue}'
UNSUBSCRIBE = 'UnsubscribeConfirmation'

# Query parameters of the confirmation link, and the confirmation
# document fields they come from (upstream's names and order).
_LINK_FIELDS = (('Signature', 'URL-Signature'), ('Methods', 'URL-Methods'),
                ('Paths', 'URL-Paths'), ('Project', 'X-Project-ID'),
                ('Expires', 'URL-Expires'))


def recipients(subscriber: str) -> list[str]:
    """The addresses of a ``mailto:`` URI (comma-separated, may be
    percent-encoded)."""
    path = urllib.parse.urlsplit(subscriber).path
    return [address.strip() for address
            in urllib.parse.unquote(path).split(',') if address.strip()]


def uri_subject(subscriber: str) -> str | None:
    """The ``subject`` query parameter (any case) of a ``mailto:`` URI."""
    query = urllib.parse.urlsplit(subscriber).query
    for name, value in urllib.parse.parse_qsl(query):
        if name.lower() == 'subject':
            return value
    return None


def confirmation_link(base_url: str, document: dict[str, Any],
                      queue: str) -> str:
    """``base_url`` with the signed-URL fields of ``document`` in its
    query, for the page that confirms (or re-confirms) a subscription."""
    query = [(name, str(document.get(field, '')))
             for name, field in _LINK_FIELDS]
    if document.get('WSGISubscribeURL'):
        query.append(('Url', str(document['WSGISubscribeURL'])))
    query.append(('Queue', queue))
    separator = '&' if urllib.parse.urlsplit(base_url).query else '?'
    return base_url + separator + urllib.parse.urlencode(query)


def build_mail(to: list[str], sender: str, subject: str,
               body: str) -> EmailMessage:
    """A plain-text UTF-8 mail.

    Raises:
        DeliveryFailed: (final) a header cannot be made of these values,
            e.g. a line break in the subject.
    """
    mail = EmailMessage()
    try:
        mail['From'] = sender
        mail['To'] = ', '.join(to)
        mail['Subject'] = subject
        mail['Date'] = email.utils.formatdate(usegmt=True)
        mail.set_content(body)
    except (ValueError, TypeError, email.errors.MessageError) as exc:
        raise base.DeliveryFailed(f'Cannot write the mail: {exc}',
                                  retryable=False) from exc
    return mail


def _smtp_failure(exc: Exception) -> base.DeliveryFailed:
    """``exc`` of an SMTP exchange as a delivery failure: 4xx replies and
    broken connections are worth retrying, 5xx replies are not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        retryable = any(not 500 <= code < 600 for code in codes)
    elif isinstance(exc, smtplib.SMTPResponseException):
        retryable = not 500 <= exc.smtp_code < 600
    elif isinstance(exc, smtplib.SMTPNotSupportedError |
                    ssl.SSLCertVerificationError):
        retryable = False  # the server or its certificate won't change
    else:
        retryable = True
    return base.DeliveryFailed(f'SMTP: {type(exc).__name__}: {exc}',
                               retryable=retryable)


class MailNotifier(base.NotifierBase):
    """Mails notifications and confirmations."""

    #: Seconds for one SMTP exchange, or for ``smtp_command`` to finish.
    timeout: float = 60.0

    def prepare(self, subscriber: str, options: dict[str, Any], ttl: int,
                context: oslo_context.RequestContext | None
                ) -> dict[str, Any]:
        """``options`` unchanged.

        Raises:
            SubscriberRejected: the URI has no address.
        """
        if not recipients(subscriber):
            raise base.SubscriberRejected(
                'A mailto subscriber needs at least one address, as in '
                'mailto:someone@example.com.')
        return options

    def notify(self, target: base.Target,
               message: dict[str, Any]) -> None:
        """Mail ``message`` as indented JSON.

        Raises:
            DeliveryFailed: retryable for transient SMTP or sendmail
                failures, final for a refusal or a bad setup.
        """
        options = target['options']
        subject = (uri_subject(target['subscriber']) or
                   _text(options.get('subject')) or
                   DEFAULT_SUBJECT.format(queue=target['source']))
        sender = (_text(options.get('from')) or
                  self._template(False).get('sender', ''))
        body = json.dumps(message, indent=2, sort_keys=True,
                          ensure_ascii=False)
        self._send(build_mail(self._recipients(target), sender, subject,
                              body))

    def confirm(self, target: base.Target,
                document: dict[str, Any]) -> None:
        """Mail the confirmation (or unsubscribe) template, its link built
        from ``document`` (see :func:`confirmation_link`).

        Raises:
            DeliveryFailed: final without ``[notification]
                external_confirmation_url``; otherwise as :meth:`notify`.
        """
        page = self.conf.notification.external_confirmation_url
        if not page:
            raise base.DeliveryFailed('external_confirmation_url is not set',
                                      retryable=False)
        template = self._template(
            document.get('Message_Type') == UNSUBSCRIBE)
        queue = target['source']
        project = document.get('X-Project-ID') or target['project']
        link = confirmation_link(page, document, queue)
        try:
            body = template.get('body', '').format(queue, project, link)
        except (IndexError, KeyError, ValueError) as exc:
            raise base.DeliveryFailed(
                f'Bad confirmation email template body: {exc!r}',
                retryable=False) from exc
        self._send(build_mail(self._recipients(target),
                              template.get('sender', ''),
                              template.get('topic', ''), body))

    def _template(self, unsubscribe: bool) -> dict[str, str]:
        section = self.conf.notification
        return (section.unsubscribe_confirmation_email_template
                if unsubscribe
                else section.subscription_confirmation_email_template)

    @staticmethod
    def _recipients(target: base.Target) -> list[str]:
        to = recipients(target['subscriber'])
        if not to:
            raise base.DeliveryFailed('The mailto subscriber has no address.',
                                      retryable=False)
        return to

    def unusable_here(self) -> str | None:
        if self.conf.notification.smtp_mode == 'self_local':
            if not self.conf.notification.smtp_host:
                return ('[notification] smtp_mode = self_local, but '
                        'smtp_host is not set')
            return None
        command = self.conf.notification.smtp_command or ''
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            return f'[notification] smtp_command {command!r}: {exc}'
        if not argv:
            return '[notification] smtp_command is empty'
        if shutil.which(argv[0]) is None:
            return (f'{argv[0]} ([notification] smtp_command) is not '
                    f'installed or not executable: install a mailer, or set '
                    f'smtp_mode = self_local and smtp_host')
        return None

    def _send(self, mail: EmailMessage) -> None:
        if self.conf.notification.smtp_mode == 'self_local':
            self._send_smtp(mail)
        else:
            self._send_command(mail)

    def _send_command(self, mail: EmailMessage) -> None:
        """Pipe ``mail`` to ``smtp_command``: any exit status but 0, or
        no exit within :attr:`timeout`, is retryable."""
        try:
            argv = shlex.split(self.conf.notification.smtp_command or '')
        except ValueError as exc:
            raise base.DeliveryFailed(f'Bad smtp_command: {exc}',
                                      retryable=False) from exc
        if not argv:
            raise base.DeliveryFailed('smtp_command is empty',
                                      retryable=False)
        try:
            done = subprocess.run(argv, input=mail.as_bytes(),
                                  capture_output=True, timeout=self.timeout,
                                  check=False)
        except subprocess.TimeoutExpired as exc:
            raise base.DeliveryFailed(
                f'{argv[0]} did not finish in {self.timeout} s',
                retryable=True) from exc
        except (FileNotFoundError, PermissionError) as exc:
            raise base.DeliveryFailed(f'Cannot run {argv[0]}: {exc}',
                                      retryable=False) from exc
        except OSError as exc:  # e.g. out of processes: may pass later
            raise base.DeliveryFailed(f'Cannot run {argv[0]}: {exc}',
                                      retryable=True) from exc
        if done.returncode != 0:
            error = done.stderr.decode('utf-8', 'replace').strip()
            raise base.DeliveryFailed(
                f'{argv[0]} exited with status {done.returncode}: '
                f'{error[-500:]}', retryable=True)

    def _send_smtp(self, mail: EmailMessage) -> None:
        """Hand ``mail`` to ``smtp_host`` (``smtp_security`` and login as
        configured)."""
        section = self.conf.notification
        host = section.smtp_host
        if not host:
            raise base.DeliveryFailed('smtp_host is not set',
                                      retryable=False)
        security = section.smtp_security
        port = section.smtp_port or (465 if security == 'ssl' else 25)
        tls = ssl.create_default_context()
        try:
            if security == 'ssl':
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    host, port, timeout=self.timeout, context=tls)
            else:
                client = smtplib.SMTP(host, port, timeout=self.timeout)
            try:
                if security == 'starttls':
                    client.starttls(context=tls)
                if section.smtp_user_name:
                    client.login(section.smtp_user_name,
                                 section.smtp_user_password or '')
                refused = client.send_message(mail)
            finally:
                _quit(client)
        except (smtplib.SMTPException, OSError) as exc:
            raise _smtp_failure(exc) from exc
        if refused:  # only some recipients: the others have the mail
            LOG.warning('SMTP server refused %s', refused)


def _quit(client: smtplib.SMTP) -> None:
    """End the session; once the mail is accepted, how QUIT goes does not
    matter (a failure here must not cause a second mail)."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
