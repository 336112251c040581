import json

import pytest

from hanoismart.reporting.models import DataValue, Submission, SubmissionStatus

URL = "/api/v1/reporting"


def _post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def _set(world, unit_code, values, **extra):
    return {
        "form": world.form.code,
        "period": world.period.code,
        "unit": unit_code,
        "dataValues": values,
        **extra,
    }


def test_anonymous_gets_401(client, world):
    response = client.get(f"{URL}/forms")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_resident_gets_403(world, personas, sign_in):
    response = sign_in(personas.resident).get(f"{URL}/forms")
    assert response.status_code == 403


def test_forms_and_form_detail(world, sign_in):
    client = sign_in(world.reporter_hk)
    assert [f["code"] for f in client.get(f"{URL}/forms").json()["items"]] == ["MONTHLY"]
    detail = client.get(f"{URL}/forms/MONTHLY").json()
    assert detail["version"] == 1
    assert detail["items"][0]["indicator"]["code"] == "BIRTHS"
    assert client.get(f"{URL}/forms/NOPE").status_code == 404


def test_periods(world, sign_in):
    response = sign_in(world.reporter_hk).get(f"{URL}/periods?form=MONTHLY")
    assert [p["code"] for p in response.json()["items"]] == [world.period.code]
    assert sign_in(world.reporter_hk).get(f"{URL}/periods").status_code == 422


def test_data_value_sets_dry_run_writes_nothing(world, sign_in):
    client = sign_in(world.reporter_hk)
    body = _set(
        world,
        "00070",
        [
            {"indicator": "DOSSIERS_IN", "value": "12"},
            {"indicator": "BIRTHS", "disaggregation": "sex=female", "value": 3},
        ],
    )
    response = _post(client, f"{URL}/dataValueSets?dryRun=true", body)
    assert response.status_code == 200
    assert response.json()["import_count"] == {
        "imported": 2,
        "updated": 0,
        "deleted": 0,
        "ignored": 0,
        "conflict": 0,
    }
    assert not Submission.objects.exists()


def test_data_value_sets_summary_and_conflicts(world, sign_in):
    client = sign_in(world.reporter_hk)
    first = _post(
        client, f"{URL}/dataValueSets", _set(world, "00070", [{"indicator": "DOSSIERS_IN", "value": "12"}])
    )
    assert first.json()["import_count"]["imported"] == 1
    second = _post(
        client,
        f"{URL}/dataValueSets",
        _set(
            world,
            "00070",
            [{"indicator": "DOSSIERS_IN", "value": "13"}, {"indicator": "DOSSIERS_DONE", "value": "2"}],
        ),
    )
    assert [(v["indicator"], v["status"]) for v in second.json()["values"]] == [
        ("DOSSIERS_IN", "updated"),
        ("DOSSIERS_DONE", "imported"),
    ]
    bad = _post(
        client,
        f"{URL}/dataValueSets",
        _set(
            world,
            "00070",
            [
                {"indicator": "DOSSIERS_IN", "value": "x"},
                {"indicator": "UNKNOWN", "value": "1"},
                {"indicator": "DOSSIERS_DONE", "value": "5"},
            ],
        ),
    )
    assert bad.status_code == 409
    assert {c["indicator"] for c in bad.json()["conflicts"]} == {"DOSSIERS_IN", "UNKNOWN"}
    assert DataValue.objects.get(indicator__code="DOSSIERS_DONE").number == 2  # nothing from the bad set


def test_data_value_sets_csv(world, sign_in):
    client = sign_in(world.reporter_hk)
    body = "indicator,disaggregation,value,comment\nDOSSIERS_IN,,12,\nBIRTHS,sex=male,4,ok\n"
    url = f"{URL}/dataValueSets.csv?form=MONTHLY&period={world.period.code}&unit=00070"
    response = client.post(url, data=body, content_type="text/csv")
    assert response.status_code == 200, response.json()
    assert response.json()["import_count"]["imported"] == 2
    assert client.post(url, data="a,b\n1,2\n", content_type="text/csv").status_code == 400


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"form": "MONTHLY"}, 422),
        ({"form": "NOPE", "period": "2025-09", "unit": "00070", "dataValues": []}, 404),
        ({"form": "MONTHLY", "period": "2099-99", "unit": "00070", "dataValues": []}, 404),
        ({"form": "MONTHLY", "period": "x", "unit": "99999", "dataValues": []}, 404),
    ],
)
def test_data_value_sets_bad_input_is_4xx(world, sign_in, body, status):
    response = _post(sign_in(world.reporter_hk), f"{URL}/dataValueSets", body)
    assert response.status_code == status
    assert "code" in response.json()


def test_other_ward_reporter_is_refused(world, sign_in):
    response = _post(
        sign_in(world.reporter_bd),
        f"{URL}/dataValueSets",
        _set(world, "00070", [{"indicator": "DOSSIERS_IN", "value": "1"}]),
    )
    assert response.status_code == 403
    assert not Submission.objects.exists()


def test_actions_workflow_and_completeness(world, sign_in, personas):
    reporter = sign_in(world.reporter_hk)
    _post(
        reporter, f"{URL}/dataValueSets", _set(world, "00070", [{"indicator": "DOSSIERS_IN", "value": "12"}])
    )
    submission = Submission.objects.get()
    response = _post(reporter, f"{URL}/submissions/{submission.public_id}/actions/submit", {})
    assert response.status_code == 200
    assert response.json()["status"] == "submitted"
    # the reporter cannot accept; the owner can
    assert _post(reporter, f"{URL}/submissions/{submission.public_id}/actions/accept", {}).status_code == 403
    owner = sign_in(personas.department_officer)
    assert _post(owner, f"{URL}/submissions/{submission.public_id}/actions/return", {}).status_code == 400
    assert _post(owner, f"{URL}/submissions/{submission.public_id}/actions/nonsense", {}).status_code == 422
    accepted = _post(owner, f"{URL}/submissions/{submission.public_id}/actions/accept", {})
    assert accepted.json()["status"] == SubmissionStatus.ACCEPTED
    # other ward's reporter does not even see it
    assert (
        _post(
            sign_in(world.reporter_bd), f"{URL}/submissions/{submission.public_id}/actions/submit", {}
        ).status_code
        == 404
    )
    manager = sign_in(personas.city_manager)
    body = manager.get(f"{URL}/completeness?form=MONTHLY&period={world.period.code}").json()
    assert (body["expected"], body["submitted"], body["missing"]) == (2, 1, 1)
    assert reporter.get(f"{URL}/completeness?form=MONTHLY&period={world.period.code}").status_code == 403
    values = manager.get(f"{URL}/values?indicator=DOSSIERS_IN&period={world.period.code}&unit=01").json()
    assert values["values"] == [
        {"unit": "01", "disaggregation": "", "value": "12.000000", "text": "", "count": 1}
    ]
    raw = reporter.get(
        f"{URL}/values?indicator=DOSSIERS_IN&period={world.period.code}&unit=00070&rollup=false"
    )
    assert raw.json()["values"][0]["value"] == "12.0000"
    other = sign_in(world.reporter_bd).get(
        f"{URL}/values?indicator=DOSSIERS_IN&period={world.period.code}&unit=00070"
    )
    assert other.status_code == 404


def test_submission_list_is_scoped_and_query_count_is_flat(
    world, sign_in, personas, django_assert_max_num_queries
):
    for user, code in ((world.reporter_hk, "00070"), (world.reporter_bd, "00004")):
        _post(
            sign_in(user),
            f"{URL}/dataValueSets",
            _set(world, code, [{"indicator": "DOSSIERS_IN", "value": "1"}]),
        )
    mine = sign_in(world.reporter_hk).get(f"{URL}/submissions?form=MONTHLY").json()
    assert [s["unit"] for s in mine["items"]] == ["00070"]
    manager = sign_in(personas.city_manager)
    # session, user, device, positions and session tracking are the middleware's; the rest is constant
    with django_assert_max_num_queries(20):
        everything = manager.get(f"{URL}/submissions?form=MONTHLY&period={world.period.code}").json()
    assert [s["unit"] for s in everything["items"]] == ["00004", "00070"]
    with django_assert_max_num_queries(24):
        manager.get(f"{URL}/completeness?form=MONTHLY&period={world.period.code}")
