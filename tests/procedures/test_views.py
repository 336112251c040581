def _get(client, url, **params):
    return client.get(url, params, HTTP_ACCEPT_LANGUAGE="en")


def test_list_page_searches_without_diacritics_for_anonymous_users(client, catalog):
    response = _get(client, "/procedures/", q="khai tu")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Đăng ký khai tử" in text
    assert "Administrative procedures" in text
    assert "Đăng ký kết hôn<" not in text


def test_list_page_ignores_unknown_filters(client, catalog):
    assert _get(client, "/procedures/", level="nowhere", field="nothing", page="x").status_code == 200


def test_detail_page_explains_time_costs_papers_and_steps(client, catalog):
    response = _get(client, "/procedures/2.000720/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Đăng ký thành lập hộ kinh doanh" in text
    assert "Processing time: 3 working days" in text
    assert "100.000 ₫" in text
    assert "from your document store" in text
    assert "Steps" in text


def test_detail_page_404_for_unknown_or_malformed_codes(client, catalog):
    assert _get(client, "/procedures/9.999999/").status_code == 404
    assert _get(client, "/procedures/not-a-code/").status_code == 404
