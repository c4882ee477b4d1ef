"""Configuration from the environment."""

from __future__ import annotations

import pytest
from hf_inference_client_service import DEFAULT_MODELS
from hf_inference_client_service import InvalidField
from hf_inference_client_service import ServiceConfig
from hf_inference_client_service import TaskId
from hf_inference_client_service import TextGenerationMode


def test_defaults() -> None:
    config = ServiceConfig.from_env({})
    assert config.token is None
    assert config.endpoint is None
    assert config.models_base_url == "https://router.huggingface.co/hf-inference"
    assert config.default_models == DEFAULT_MODELS
    assert config.timeout < 180  # the node gives a container call 180 s
    assert config.retry.max_attempts == 3
    assert config.inputs.max_input_bytes == 65_536
    assert not config.inputs.allow_url_models
    assert config.text_generation_mode is TextGenerationMode.AUTO


def test_every_variable() -> None:
    config = ServiceConfig.from_env(
        {
            "HF_INF_TOKEN": "hf_x",
            "HF_INF_ENDPOINT": "http://127.0.0.1:9/",
            "HF_INF_PROVIDER": "together",
            "HF_INF_TEXT_GENERATION_MODEL": "openai-community/gpt2",
            "HF_INF_SUMMARIZATION_MODEL": "google/pegasus-xsum",
            "HF_INF_TIMEOUT": "12.5",
            "HF_INF_MAX_ATTEMPTS": "5",
            "HF_INF_RETRY_BASE_DELAY": "0.1",
            "HF_INF_RETRY_MAX_DELAY": "2",
            "HF_INF_MAX_INPUT_BYTES": "100",
            "HF_INF_ALLOW_URL_MODELS": "true",
            "HF_INF_TEXT_GENERATION_MODE": "chat",
        }
    )
    assert config.token == "hf_x"
    assert config.endpoint == "http://127.0.0.1:9"
    assert config.models_base_url == "http://127.0.0.1:9"  # an endpoint wins over the provider
    assert config.default_models[TaskId.TEXT_GENERATION] == "openai-community/gpt2"
    assert config.default_models[TaskId.SUMMARIZATION] == "google/pegasus-xsum"
    assert config.timeout == 12.5
    assert (config.retry.max_attempts, config.retry.base_delay, config.retry.max_delay) == (
        5,
        0.1,
        2.0,
    )
    assert config.inputs.max_input_bytes == 100
    assert config.inputs.allow_url_models
    assert config.text_generation_mode is TextGenerationMode.CHAT


def test_other_provider_routes_by_model_id() -> None:
    assert ServiceConfig.from_env({"HF_INF_PROVIDER": "together"}).models_base_url is None


def test_token_is_not_in_repr() -> None:
    assert "hf_secret" not in repr(ServiceConfig.from_env({"HF_INF_TOKEN": "hf_secret"}))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HF_INF_ENDPOINT", "localhost:80", "must be an http:// or https:// URL"),
        ("HF_INF_TIMEOUT", "0", "must be a positive number"),
        ("HF_INF_TIMEOUT", "x", "must be a number of seconds"),
        ("HF_INF_MAX_ATTEMPTS", "0", "must be at least 1"),
        ("HF_INF_MAX_INPUT_BYTES", "1.5", "must be an integer"),
        ("HF_INF_ALLOW_URL_MODELS", "maybe", "must be true or false"),
        ("HF_INF_TEXT_GENERATION_MODE", "poetry", "must be auto, text or chat"),
        ("HF_INF_RETRY_MAX_DELAY", "-1", "must not be negative"),
    ],
)
def test_invalid_values_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(InvalidField, match=message) as error:
        ServiceConfig.from_env({name: value})
    assert error.value.field == name


def test_new_limits_are_read() -> None:
    config = ServiceConfig.from_env(
        {
            "HF_INF_MAX_CONNECTIONS": "8",
            "HF_INF_MAX_RESPONSE_BYTES": "2048",
            "HF_INF_BODY_TIMEOUT": "5",
            "HF_INF_MAX_NEW_TOKENS": "64",
            "HF_INF_MAX_LENGTH": "128",
            "HF_INF_MAX_TIME": "9.5",
            "HF_INF_TIMEOUT": "  ",  # blank: the default
        }
    )
    assert (config.connections.connections, config.connections.max_response_bytes) == (8, 2048)
    assert config.body_timeout == 5.0
    assert (config.inputs.max_new_tokens, config.inputs.max_length) == (64, 128)
    assert config.inputs.max_time == 9.5
    assert config.timeout == 60.0


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_seconds_are_refused(value: str) -> None:
    with pytest.raises(InvalidField, match="must be a number of seconds") as error:
        ServiceConfig.from_env({"HF_INF_TIMEOUT": value})
    assert error.value.field == "HF_INF_TIMEOUT"


def test_unknown_provider_is_refused_at_startup() -> None:
    # Accepted, a misspelt provider failed every job with a 400 blaming `data.model`.
    with pytest.raises(
        InvalidField, match="'togther' is not a Hugging Face inference provider"
    ) as e:
        ServiceConfig.from_env({"HF_INF_PROVIDER": "togther"})
    assert e.value.field == "HF_INF_PROVIDER"
    # The console command prints this as its one line before exiting (test_main).
    assert "\n" not in str(e.value)
    assert "expected one of auto, " in str(e.value)


@pytest.mark.parametrize("provider", ["together", "Groq", "auto", "hf-inference"])
def test_known_providers_are_accepted(provider: str) -> None:
    assert ServiceConfig.from_env({"HF_INF_PROVIDER": provider}).provider == provider.lower()
