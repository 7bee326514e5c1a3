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
