from hanoismart.reporting.models import Submission, SubmissionStatus


def test_desk_lists_the_pending_report_and_entry_page_submits(world, sign_in):
    client = sign_in(world.reporter_hk)
    desk = client.get("/reporting/")
    assert desk.status_code == 200
    assert world.form.name in desk.content.decode()
    started = client.post(f"/reporting/start/MONTHLY/{world.period.code}/00070/")
    submission = Submission.objects.get()
    assert started.status_code == 302
    page = client.get(f"/reporting/reports/{submission.public_id}/")
    assert 'inputmode="numeric"' in page.content.decode()
    bad = client.post(page.request["PATH_INFO"], {"action": "save", "v:DOSSIERS_IN": "abc"})
    assert bad.status_code == 422
    assert not submission.values.exists()
    done = client.post(
        page.request["PATH_INFO"], {"action": "submit", "v:DOSSIERS_IN": "4", "v:DOSSIERS_DONE": "2"}
    )
    assert done.status_code == 302
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.SUBMITTED


def test_completeness_page_for_manager_only(world, sign_in, personas):
    url = f"/reporting/forms/MONTHLY/{world.period.code}/completeness/"
    assert sign_in(personas.city_manager).get(url).status_code == 200
    assert sign_in(world.reporter_hk).get(url).status_code == 403
    assert (
        sign_in(personas.department_officer)
        .get(f"/reporting/forms/MONTHLY/{world.period.code}/review/")
        .status_code
        == 200
    )


def test_anonymous_is_sent_to_sign_in(client, world):
    assert client.get("/reporting/").status_code == 302
