import pytest

# The storage contract's assertions live outside test modules: have pytest
# rewrite them too, so that a failing driver shows the values compared.
pytest.register_assert_rewrite('zaqar_core.tests.contract')
