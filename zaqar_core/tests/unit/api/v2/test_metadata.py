"""Queue metadata: the JSON-patch subset of PATCH and the checks on the
resulting document."""

from typing import Any

import pytest
from oslo_config import cfg

from zaqar_core.api import errors
from zaqar_core.api.v2 import metadata


def patch(conf: cfg.ConfigOpts, stored: dict, *ops: dict) -> dict:
    return metadata.apply_patch(conf, stored, list(ops))


# -- apply_patch --------------------------------------------------------------

def test_add_sets_a_new_key(conf: cfg.ConfigOpts) -> None:
    assert patch(conf, {'a': 1}, {'op': 'add', 'path': '/metadata/b',
                                  'value': [2]}) == {'a': 1, 'b': [2]}


def test_add_overwrites_an_existing_key(conf: cfg.ConfigOpts) -> None:
    assert patch(conf, {'a': 1}, {'op': 'add', 'path': '/metadata/a',
                                  'value': 2}) == {'a': 2}


def test_replace_changes_an_existing_key(conf: cfg.ConfigOpts) -> None:
    assert patch(conf, {'a': 1}, {'op': 'replace', 'path': '/metadata/a',
                                  'value': None}) == {'a': None}


def test_replace_of_a_missing_key_conflicts(conf: cfg.ConfigOpts) -> None:
    with pytest.raises(errors.Conflict, match='non-existent object b'):
        patch(conf, {'a': 1}, {'op': 'replace', 'path': '/metadata/b',
                               'value': 2})


def test_replace_of_an_unset_reserved_key_is_allowed(conf: cfg.ConfigOpts
                                                     ) -> None:
    assert patch(conf, {}, {'op': 'replace',
                            'path': '/metadata/_default_message_ttl',
                            'value': 300}) == {'_default_message_ttl': 300}


def test_remove_deletes_a_key(conf: cfg.ConfigOpts) -> None:
    assert patch(conf, {'a': 1, 'b': 2},
                 {'op': 'remove', 'path': '/metadata/a'}) == {'b': 2}


def test_remove_of_a_missing_key_conflicts(conf: cfg.ConfigOpts) -> None:
    with pytest.raises(errors.Conflict, match='non-existent object b'):
        patch(conf, {'a': 1}, {'op': 'remove', 'path': '/metadata/b'})


def test_remove_of_an_unset_reserved_key_is_a_no_op(conf: cfg.ConfigOpts
                                                    ) -> None:
    assert patch(conf, {'a': 1}, {'op': 'remove',
                                  'path': '/metadata/_max_claim_count'}) == {
        'a': 1}


def test_operations_apply_in_order(conf: cfg.ConfigOpts) -> None:
    assert patch(conf, {},
                 {'op': 'add', 'path': '/metadata/a', 'value': 1},
                 {'op': 'replace', 'path': '/metadata/a', 'value': 2},
                 {'op': 'add', 'path': '/metadata/b', 'value': 3},
                 {'op': 'remove', 'path': '/metadata/b'}) == {'a': 2}


def test_a_failed_patch_leaves_the_stored_document_alone(
        conf: cfg.ConfigOpts) -> None:
    stored = {'a': 1}
    with pytest.raises(errors.Conflict):
        patch(conf, stored, {'op': 'remove', 'path': '/metadata/a'},
              {'op': 'remove', 'path': '/metadata/zzz'})
    assert stored == {'a': 1}


@pytest.mark.parametrize(('path', 'key'), [
    ('/metadata/a~1b', 'a/b'), ('/metadata/a~0b', 'a~b'),
    ('/metadata/~01', '~1'), ('/metadata/~10', '/0')])
def test_pointer_escapes_are_decoded(conf: cfg.ConfigOpts, path: str,
                                     key: str) -> None:
    assert patch(conf, {}, {'op': 'add', 'path': path, 'value': 1}) == {
        key: 1}


@pytest.mark.parametrize('path', [
    '/metadata/a~2', '/metadata/a~', 'metadata/a', '/metadata',
    '/metadata/', '/metadata/a/b', '/other/a', '', 7, None])
def test_bad_paths_are_refused(conf: cfg.ConfigOpts, path: Any) -> None:
    with pytest.raises(errors.BadRequest, match='path'):
        patch(conf, {}, {'op': 'add', 'path': path, 'value': 1})


@pytest.mark.parametrize('ops', [
    {'op': 'add'}, [], 'add', None])
def test_a_body_that_is_not_a_list_of_operations_is_refused(
        conf: cfg.ConfigOpts, ops: Any) -> None:
    with pytest.raises(errors.BadRequest):
        metadata.apply_patch(conf, {}, ops)


@pytest.mark.parametrize(('op', 'message'), [
    ({'path': '/metadata/a', 'value': 1}, '"op"'),
    ({'op': 'move', 'path': '/metadata/a', 'from': '/metadata/b'},
     'Invalid operation'),
    ({'op': 'test', 'path': '/metadata/a', 'value': 1}, 'Invalid operation'),
    ({'op': 'add', 'value': 1}, 'Missing "path"'),
    ({'op': 'add', 'path': '/metadata/a'}, 'Missing "value"'),
    ({'op': 'replace', 'path': '/metadata/a'}, 'Missing "value"'),
    ('add', '"op"')])
def test_malformed_operations_are_refused(conf: cfg.ConfigOpts, op: Any,
                                          message: str) -> None:
    with pytest.raises(errors.BadRequest, match=message):
        metadata.apply_patch(conf, {'a': 1}, [op])


# -- validate, with_defaults --------------------------------------------------

@pytest.mark.parametrize('document', [
    {}, {'anything': {'goes': [1]}},
    {'_default_message_ttl': 60, '_default_message_delay': 900,
     '_max_messages_post_size': 1, '_dead_letter_queue': 'dead.letters',
     '_dead_letter_queue_messages_ttl': 1209600, '_max_claim_count': 3,
     '_enable_encrypt_messages': True},
    # Falsy values mean "unset".
    {'_default_message_ttl': 0, '_dead_letter_queue': '',
     '_max_claim_count': None}])
def test_valid_documents(conf: cfg.ConfigOpts, document: dict) -> None:
    metadata.validate(conf, document)


@pytest.mark.parametrize(('document', 'message'), [
    ({'_max_messages_post_size': 0}, '_max_messages_post_size'),
    ({'_max_messages_post_size': 256 * 1024 + 1}, '_max_messages_post_size'),
    ({'_max_messages_post_size': '10'}, '_max_messages_post_size'),
    ({'_default_message_ttl': 59}, 'TTL for a message'),
    ({'_default_message_ttl': 1209601}, 'TTL for a message'),
    ({'_default_message_ttl': True}, 'must be integer'),
    ({'_default_message_ttl': 120.5}, 'must be integer'),
    ({'_dead_letter_queue_messages_ttl': 10}, 'TTL for a message'),
    ({'_default_message_delay': 901}, '_default_message_delay'),
    ({'_default_message_delay': -1}, '_default_message_delay'),
    ({'_max_claim_count': -1}, '_max_claim_count'),
    ({'_max_claim_count': 'three'}, 'must be integer'),
    ({'_enable_encrypt_messages': 'yes'}, 'must be boolean'),
    ({'_dead_letter_queue': 7}, 'must be a string'),
    ({'_dead_letter_queue': 'not valid!'}, 'queue name')])
def test_invalid_documents(conf: cfg.ConfigOpts, document: dict,
                           message: str) -> None:
    with pytest.raises(errors.BadRequest, match=message):
        metadata.validate(conf, document)


@pytest.mark.parametrize('document', [[], 'text', None])
def test_a_document_must_be_an_object(conf: cfg.ConfigOpts,
                                      document: Any) -> None:
    with pytest.raises(errors.BadRequest, match='JSON object'):
        metadata.validate(conf, document)


def test_limits_come_from_the_configuration(conf: cfg.ConfigOpts) -> None:
    conf.set_override('max_message_ttl', 100, group='transport')
    with pytest.raises(errors.BadRequest, match='may not exceed 100'):
        metadata.validate(conf, {'_default_message_ttl': 101})


def test_with_defaults_fills_unset_reserved_keys(conf: cfg.ConfigOpts
                                                 ) -> None:
    shown = metadata.with_defaults(conf, {'_default_message_ttl': 0,
                                          '_max_claim_count': 5, 'x': 1})
    assert shown == {
        '_default_message_ttl': 3600, '_max_claim_count': 5, 'x': 1,
        '_max_messages_post_size': 256 * 1024, '_default_message_delay': 0,
        '_dead_letter_queue': None, '_dead_letter_queue_messages_ttl': None,
        '_enable_encrypt_messages': False}
