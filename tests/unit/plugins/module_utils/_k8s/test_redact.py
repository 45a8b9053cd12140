"""Unit tests for _k8s.redact: Secret values stay out of results and diffs."""

import base64

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.redact import (
    MASK, definition_secrets, redact, secret_values)

SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "annotations": {
    "kubectl.kubernetes.io/last-applied-configuration": "{...}", "other": "kept"}},
    "data": {"password": base64.b64encode(b"hunter2").decode()}, "stringData": {"user": "admin"}}


def test_redact_masks_values_keeps_keys_and_leaves_the_input_alone():
    out = redact(SECRET)
    # a user name is no secret: shown
    assert out["data"] == {"password": MASK} and out["stringData"] == {"user": "admin"}
    assert out["metadata"]["annotations"] == {"kubectl.kubernetes.io/last-applied-configuration": MASK,
                                              "other": "kept"}
    assert SECRET["stringData"] == {"user": "admin"}
    cm = {"kind": "ConfigMap", "data": {"a": "b"}}
    assert redact(cm) is cm and redact(None) is None


def test_secret_values_as_given_and_decoded():
    values = secret_values([SECRET, {"kind": "ConfigMap", "data": {"a": "b"}},
                            {"kind": "Secret", "data": {"bad": "not base64!", "empty": ""}}])
    assert values == {SECRET["data"]["password"], "hunter2", "not base64!"}


def test_definition_secrets_reads_the_argument_as_given_before_validation():
    text = "kind: Secret\nmetadata: {name: t}\nstringData: {token: from-text}\n---\n- not an object\n"
    listed = {"apiVersion": "v1", "kind": "List", "items": [SECRET]}
    assert definition_secrets([listed, text, 7, {"kind": "Secret", "data": ["not", "a", "mapping"]}]) == {
        SECRET["data"]["password"], "hunter2", "from-text"}
    assert definition_secrets(None) == set() and definition_secrets("{not: yaml") == set()


def test_redact_pair_masks_both_and_marks_changed_values():
    from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import redact
    before = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"a": "eA==", "b": "eQ=="}}
    after = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"a": "eA==", "b": "eg==", "c": "dw=="}}
    old, new = redact.redact_pair(before, after)
    assert old["data"] == {"a": redact.MASK, "b": redact.MASK}
    assert new["data"] == {"a": redact.MASK, "b": redact.CHANGED, "c": redact.MASK}
    assert before["data"]["b"] == "eQ=="  # copies, the inputs stay
    assert redact.redact_pair(None, after)[0] is None and redact.redact_pair(before, None)[1] is None


def test_a_user_name_is_no_secret():
    """The Grafana and Kiali Secrets' username (admin by default), a basic-auth Secret's: never a no-log value, so
    Ansible does not mask the word admin wherever a message holds it ("User aud-********")."""
    from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import redact
    for key in ("username", "user", "admin-user", "grafana_username", "Kiali.UserName", "user-name"):
        assert redact.public_key(key), key
    for key in ("passphrase", "password", "token", "users", "username-hash", "userpassword", "signing-key"):
        assert not redact.public_key(key), key
    grafana = {"kind": "Secret", "data": {"username": base64.b64encode(b"admin").decode(),
                                          "passphrase": base64.b64encode(b"s3cret-Pass").decode()}}
    assert secret_values([grafana]) == {grafana["data"]["passphrase"], "s3cret-Pass"}
    assert redact.redact(grafana)["data"] == {"username": grafana["data"]["username"], "passphrase": MASK}
    changed = {"kind": "Secret", "data": {"username": "Ym9i", "passphrase": "eA=="}}
    old, new = redact.redact_pair(grafana, changed)
    assert new["data"] == {"username": "Ym9i", "passphrase": redact.CHANGED}


def test_drift_of_a_secret_shows_a_user_name_only():
    from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.apply import redact_drift
    drifted = [{"path": ".data.username", "desired": "YWRtaW4=", "live": "Ym9i", "managers": ["kubectl"]},
               {"path": ".data.passphrase", "desired": "eA==", "live": "eQ==", "managers": ["kubectl"]},
               {"path": ".stringData.admin-user", "desired": "admin", "live": None, "managers": []}]
    out = redact_drift({"kind": "Secret"}, drifted)
    assert out[0] == drifted[0] and out[2] == drifted[2]
    assert out[1] == dict(drifted[1], desired=MASK, live=MASK)
    assert redact_drift({"kind": "ConfigMap"}, drifted) is drifted
