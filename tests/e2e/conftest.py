"""What the hub tests of several modules share: adding people as an admin does."""

import pytest


@pytest.fixture(scope="module")
def added(hub, admin_token):
    """Add hub users as an admin does on the admin page, once each, whichever test asks first
    (the module's own hub and admin_token)."""
    made = set()

    def add(*names):
        new = [name for name in names if name not in made]
        if new:
            response = hub.api(admin_token, "POST", "users", json={"usernames": new})
            assert response.status_code == 201, response.text
            made.update(new)

    return add
