# Sphinx configuration of the zaqar-core documentation (tox -e docs).

# -- General -----------------------------------------------------------------

extensions = [
    'openstackdocstheme',
    # ``.. show-options::``: the configuration reference.
    'oslo_config.sphinxext',
    # Writes _static/zaqar.conf.sample at each build.
    'oslo_config.sphinxconfiggen',
    # ``.. show-policy::``: the policy reference.
    'oslo_policy.sphinxext',
    # Writes _static/zaqar.policy.yaml.sample at each build.
    'oslo_policy.sphinxpolicygen',
]

# The same generator inputs as tox -e genconfig and tox -e genpolicy, so the
# documented samples are the ones shipped in etc/.
config_generator_config_file = '../../etc/oslo-config-generator/zaqar.conf'
sample_config_basename = '_static/zaqar'

policy_generator_config_file = (
    '../../etc/oslo-policy-generator/zaqar-policy-generator.conf')
sample_policy_basename = '_static/zaqar'

project = 'zaqar-core'
copyright = 'The zaqar-core developers'

master_doc = 'index'
exclude_patterns = ['_build']
pygments_style = 'native'

# -- openstackdocstheme ------------------------------------------------------

openstackdocs_auto_name = False
openstackdocs_bug_project = ''
openstackdocs_bug_tag = ''

# -- HTML --------------------------------------------------------------------

html_theme = 'openstackdocs'

# -- The OpenAPI document ----------------------------------------------------


def _write_openapi(app) -> None:
    """Writes _static/openapi.json: the OpenAPI document a server with the
    default configuration serves (user/openapi.rst offers it)."""
    import json
    import pathlib

    from oslo_config import cfg

    from zaqar_core import conf as zaqar_conf
    from zaqar_core.api.v2 import actions  # noqa: F401 (registers actions)
    from zaqar_core.api.v2 import openapi

    conf = zaqar_conf.register_opts(cfg.ConfigOpts())
    conf([], project='zaqar', default_config_files=[],
         default_config_dirs=[])
    target = pathlib.Path(app.srcdir, '_static', 'openapi.json')
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(openapi.document(conf), indent=2) + '\n')


def setup(app) -> None:
    app.connect('builder-inited', _write_openapi)
