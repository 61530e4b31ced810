"""The speech playground (`GET /`) in a real browser: Debian's chromium, headless, driven by
Selenium through chromium-driver, against the running function (the plain local server, whose
log the test reads; and under `cargo lambda watch`'s /lambda-url/<function>/ prefix).

Guards: the page fills its pickers from the API; typing and pressing Speak with streaming on
plays audio before the response has ended; the player then holds audio that ffmpeg decodes, as
long as the words say; the timing figures appear; the words light up in order as they are
heard; Stop aborts the request and the function logs the hang-up; an API error (input over the
limit) appears as the API's message next to the text box; a function with an API key makes the
key field appear, and with the key the page speaks; a model without word timestamps (SpeechT5)
plays and highlights nothing; controls are labelled, the page fits a phone-width screen without
sideways scrolling; and no console errors in any case (the browser's
own "Failed to load resource" line for a response the test provoked is a network entry, counted
apart). The screenshot after speaking goes to target/sdk-tests/playground.png (README shows a
copy, tests/sdk/playground.png).
"""

from __future__ import annotations

import base64
import re
import shutil
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import LOG_DIR, decode, start_local, stop

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
TEXT = "Dr. Smith paid $3.50 at 5 p.m. Then the words light up, one after another, as they are spoken."
LONG = "This sentence is here to keep the voice busy for a while. " * 30


@pytest.fixture()
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--autoplay-policy=no-user-gesture-required", "--window-size=1280,1000",
                     "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver, allowed_statuses=()) -> list[dict]:
    """Console entries at error level, but the browser's network line for a status we provoked."""
    errors = []
    for entry in driver.get_log("browser"):
        if entry["level"] != "SEVERE":
            continue
        network = entry.get("source") == "network"
        if network and any(f"status of {s}" in entry["message"] for s in allowed_statuses):
            continue
        errors.append(entry)
    return errors


def wait(condition, seconds: float = 60, what: str = "the page"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def open_page(driver, url: str) -> None:
    driver.get(url)
    wait(lambda: driver.execute_script("return document.getElementById('model').options.length > 0"),
         30, "the model picker")


def state(driver) -> dict:
    return driver.execute_script("""
        const p = window.playground;
        return {status: document.getElementById('status').textContent,
                error: document.getElementById('error').textContent,
                firstAudioAt: p.firstAudioAt, responseEndAt: p.responseEndAt,
                words: p.words.map(w => w.word), highlighted: p.highlighted.slice(),
                lit: document.querySelectorAll('#words .w.on').length};
    """)


def type_text(driver, text: str) -> None:
    box = driver.find_element(By.ID, "input")
    box.clear()
    box.send_keys(text)


def player_audio(driver, workdir: Path) -> tuple[float, str]:
    """The player's audio as the browser holds it, decoded by ffmpeg: (seconds, file name)."""
    encoded = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(document.getElementById('player').src).then(r => r.arrayBuffer()).then(b => {
            let s = ''; const u = new Uint8Array(b);
            for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000));
            done(btoa(s));
        }, e => done('error: ' + e));
    """)
    assert not encoded.startswith("error"), encoded
    name = driver.find_element(By.ID, "download").get_attribute("download")
    path = workdir / name
    path.write_bytes(base64.b64decode(encoded))
    samples, rate = decode(path)
    return len(samples) / rate, name


def test_speaking_streams_shows_the_timings_and_lights_up_the_words(local_url, browser, workdir):
    open_page(browser, f"{local_url}/")
    models = browser.execute_script("return [...document.getElementById('model').options].map(o => o.value)")
    assert "piper-joe" in models and "speecht5" in models, models
    assert browser.find_element(By.ID, "stream").is_selected()
    type_text(browser, TEXT)
    count = browser.find_element(By.ID, "count").text
    assert count == f"{len(TEXT)} / 4096 characters", count
    browser.find_element(By.ID, "speak").click()
    wait(lambda: state(browser)["responseEndAt"], 60, "the end of the response")
    # A word lit while the audio plays: the screenshot shows it.
    wait(lambda: state(browser)["lit"], 30, "a highlighted word")
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(LOG_DIR / "playground.png"))
    wait(lambda: "Done" in state(browser)["status"], 60, "the end of playback")
    s = state(browser)
    assert s["error"] == "", s
    assert s["firstAudioAt"] < s["responseEndAt"], f"audio started after the response ended: {s}"
    assert s["words"] == ["Dr.", "Smith", "paid", "$3.50", "at", "5 p.m.", "Then", "the", "words", "light",
                          "up", "one", "after", "another", "as", "they", "are", "spoken"], s["words"]
    lit = s["highlighted"]
    assert lit == sorted(lit) and len(set(lit)) >= 0.8 * len(s["words"]), f"highlighted {lit} of {len(s['words'])}"
    for figure, pattern in (("ttfa", r"\d+ ms"), ("total", r"\d+\.\d\d s"), ("audio-seconds", r"\d+\.\d\d s"),
                            ("rtf", r"\d+\.\d{3}")):
        text = browser.find_element(By.ID, figure).text
        assert re.fullmatch(pattern, text), (figure, text)
    seconds, name = player_audio(browser, workdir)
    last_end = browser.execute_script("const w = window.playground.words; return w[w.length - 1].end_time")
    assert last_end - 0.05 <= seconds <= last_end + 1.0, (seconds, last_end)
    assert re.fullmatch(r"speech-piper-joe-joe-\d{8}-\d{6}\.wav", name), name
    shown = float(browser.find_element(By.ID, "audio-seconds").text.split()[0])
    assert abs(shown - seconds) < 0.05, (shown, seconds)
    # Seeking the player moves the highlight to the word at that time.
    word = browser.execute_script("return window.playground.words[5]")
    browser.execute_script(f"const p = document.getElementById('player'); p.currentTime = {word['start_time'] + 0.02};")
    wait(lambda: browser.execute_script("const on = document.querySelector('#words .w.on'); return on && on.textContent"),
         10, "the highlight after seeking") == word["word"]
    assert console_errors(browser) == []


def test_stop_cancels_the_request_and_the_function_stops_synthesizing(local_url, browser):
    open_page(browser, f"{local_url}/")
    type_text(browser, LONG)
    log = LOG_DIR / "local.log"
    before = log.read_text(errors="replace").count("the client went away")
    browser.find_element(By.ID, "input").send_keys(Keys.CONTROL, Keys.ENTER)
    wait(lambda: state(browser)["firstAudioAt"], 60, "the first audio")
    browser.find_element(By.ID, "stop").click()
    wait(lambda: "Stopped" in state(browser)["status"], 10, "the page to say it stopped")
    assert state(browser)["responseEndAt"] is None, "the response ended by itself before Stop"
    wait(lambda: log.read_text(errors="replace").count("the client went away") > before, 20,
         "the function to log the hang-up")
    assert browser.find_element(By.ID, "stop").get_attribute("disabled") is not None
    assert console_errors(browser) == []


def test_an_api_error_appears_next_to_the_control_that_caused_it(local_url, browser):
    open_page(browser, f"{local_url}/")
    browser.execute_script("""
        const box = document.getElementById('input');
        box.value = 'a'.repeat(4097);
        box.dispatchEvent(new Event('input'));
    """)
    assert "over" in browser.find_element(By.ID, "count").get_attribute("class")
    browser.find_element(By.ID, "speak").click()
    message = wait(lambda: browser.find_element(By.ID, "input-error").text, 30, "the error")
    assert "4097 characters long; the maximum is 4096" in message, message
    assert browser.find_element(By.ID, "input").get_attribute("aria-invalid") == "true"
    assert browser.find_element(By.ID, "player").get_attribute("src") in (None, "")
    assert console_errors(browser, allowed_statuses=(400,)) == []


def test_a_function_with_an_api_key_gets_a_key_field_and_then_speaks(function_url, browser, workdir):
    url, process, _log = start_local("local-key", {"TTS_API_KEY": "sk-playground"})
    try:
        browser.get(f"{url}/")
        key = wait(lambda: browser.find_element(By.ID, "key-section").is_displayed()
                   and browser.find_element(By.ID, "key"), 30, "the API key field")
        assert "API key" in browser.find_element(By.ID, "key-error").text
        key.send_keys("sk-playground", Keys.ENTER)
        wait(lambda: browser.execute_script("return document.getElementById('model').options.length > 0"),
             30, "the pickers after the key")
        assert browser.execute_script("return sessionStorage.getItem('tts-playground-api-key')") == "sk-playground"
        browser.find_element(By.ID, "stream").click()  # whole answer this time: mp3 with its words
        type_text(browser, "With the key, it speaks.")
        browser.find_element(By.ID, "speak").click()
        wait(lambda: state(browser)["responseEndAt"], 60, "the answer")
        seconds, name = player_audio(browser, workdir)
        assert name.endswith(".mp3") and 0.8 < seconds < 5, (name, seconds)
        assert state(browser)["words"] == ["With", "the", "key", "it", "speaks"]
        assert console_errors(browser, allowed_statuses=(401,)) == []
    finally:
        stop(process)


def test_the_page_works_under_watchs_prefix_is_labelled_fits_a_phone_and_speaks_either_model(
        streaming_url, browser):
    open_page(browser, f"{streaming_url}/lambda-url/bootstrap/")
    unlabelled = browser.execute_script("""
        return [...document.querySelectorAll('input, select, textarea, button')].filter(e =>
            !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim()
        ).map(e => e.id);
    """)
    assert unlabelled == [], unlabelled
    browser.set_window_size(390, 900)
    overflow = browser.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{overflow} px of sideways scrolling at phone width"
    type_text(browser, "Hello from the prefix.")
    browser.find_element(By.ID, "speak").click()
    wait(lambda: "Done" in state(browser)["status"], 60, "the end of playback")
    assert state(browser)["words"] == ["Hello", "from", "the", "prefix"]
    # A model without word timestamps streams too, and simply highlights nothing.
    browser.find_element(By.CSS_SELECTOR, "#model option[value='speecht5']").click()
    voices = browser.execute_script("return [...document.getElementById('voice').options].map(o => o.value)")
    assert "speaker_a" in voices and "alloy" in voices, voices
    type_text(browser, "Hello again.")
    browser.find_element(By.ID, "speak").click()
    wait(lambda: "Done" in state(browser)["status"], 60, "the end of SpeechT5's playback")
    s = state(browser)
    assert s["error"] == "" and s["words"] == [] and s["highlighted"] == [], s
    assert browser.find_element(By.ID, "words").text == ""
    assert re.fullmatch(r"\d+\.\d\d s", browser.find_element(By.ID, "audio-seconds").text)
    assert console_errors(browser) == []


def test_under_the_buffered_runner_the_page_speaks_whole_answers(function_url, browser, workdir):
    open_page(browser, f"{function_url}/")
    stream = browser.find_element(By.ID, "stream")
    assert not stream.is_selected() and not stream.is_enabled()
    assert "buffered" in browser.find_element(By.ID, "stream-error").text
    browser.find_element(By.CSS_SELECTOR, "#format option[value='opus']").click()
    type_text(browser, "A whole answer, in opus.")
    browser.find_element(By.ID, "speak").click()
    wait(lambda: state(browser)["responseEndAt"], 60, "the answer")
    seconds, name = player_audio(browser, workdir)
    assert name.endswith(".opus") and 0.8 < seconds < 5, (name, seconds)
    assert state(browser)["words"] == ["A", "whole", "answer", "in", "opus"]
    assert console_errors(browser) == []
