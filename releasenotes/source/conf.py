# Sphinx configuration of the zaqar-core release notes
# (tox -e releasenotes).

extensions = [
    'openstackdocstheme',
    'reno.sphinxext',
]

project = 'zaqar-core Release Notes'
copyright = 'The zaqar-core developers'

master_doc = 'index'
exclude_patterns = ['_build']
pygments_style = 'native'

# Release notes are not versioned by the package version.
version = ''
release = ''

openstackdocs_auto_name = False
openstackdocs_bug_project = ''
openstackdocs_bug_tag = ''

html_theme = 'openstackdocs'
