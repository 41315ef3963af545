"""The README's permission matrix, checked route by route for every role."""

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]

ROLES = ("anonymous", "customer_a", "agent", "manager", "admin")

# url: expected status for (anonymous, customer, agent, manager, admin)
MATRIX = {
    "/": (302, 403, 200, 200, 200),
    "/contacts/": (302, 403, 200, 200, 200),
    "/loyalty/": (302, 403, 200, 200, 200),
    "/surveys/": (302, 403, 200, 200, 200),
    "/tickets/": (302, 403, 200, 200, 200),
    "/outreach/": (302, 403, 200, 200, 200),
    "/dashboard/": (302, 403, 200, 200, 200),
    "/admin/": (302, 302, 302, 200, 200),
    "/admin/crm/contact/": (302, 302, 302, 200, 200),
    "/admin/crm/user/": (302, 302, 302, 200, 200),
    "/admin/crm/user/add/": (302, 302, 302, 403, 200),
    "/admin/auth/group/": (302, 302, 302, 403, 200),
    "/api/v1/": (401, 403, 200, 200, 200),
    "/api/v1/me/": (401, 403, 200, 200, 200),
    "/api/schema/": (401, 403, 200, 200, 200),
    "/api/docs/": (401, 403, 200, 200, 200),
    "/portal/": (302, 200, 403, 403, 403),
    "/portal/login/": (200, 302, 302, 302, 302),
    "/accounts/login/": (200, 302, 302, 302, 302),
}

CASES = [
    (url, role, statuses[i])
    for url, statuses in MATRIX.items()
    for i, role in enumerate(ROLES)
]


@pytest.mark.parametrize(
    ("url", "role", "expected"), CASES, ids=[f"{r}:{u}" for u, r, _ in CASES]
)
def test_each_role_reaches_exactly_what_the_matrix_allows(
    client, request, url, role, expected
):
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    response = client.get(url)
    assert response.status_code == expected, f"{role} on {url}: {response.status_code}"


def test_anonymous_staff_page_sends_to_sign_in_with_next(client):
    response = client.get("/contacts/")
    assert response["Location"] == "/accounts/login/?next=/contacts/"


def test_customer_refused_from_staff_home_is_pointed_to_the_portal(client, customer_a):
    client.force_login(customer_a)
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert b'href="/portal/"' in response.content


def test_customer_refused_from_admin_sees_no_admin_page(client, customer_a):
    client.force_login(customer_a)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/admin/login/")
    assert b"Site administration" not in response.content


def test_agent_group_holds_no_delete_permission(agent):
    assert agent.has_perm("crm.view_contact")
    assert agent.has_perm("crm.change_contact")
    assert not agent.has_perm("crm.delete_contact")
    assert not agent.has_perm("crm.change_user")


def test_manager_cannot_change_users_or_roles(manager):
    assert manager.has_perm("crm.delete_contact")
    assert manager.has_perm("crm.view_user")
    assert not manager.has_perm("crm.change_user")
    assert not manager.has_perm("auth.change_group")
