"""One ``Settings`` object for the whole engine and app, read from ``SIM_*`` environment variables.

Nothing here is a module-level singleton: create ``Settings()`` at the edge (CLI, app factory) and pass it in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from simulator.analytics.thresholds import Thresholds

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_data_dir() -> Path:
    return Path(user_data_dir("cs-simulator", appauthor=False))


class Settings(BaseSettings):
    """Runtime configuration. Every field can be set as ``SIM_<FIELD>`` in the environment or a ``.env`` file."""

    model_config = SettingsConfigDict(env_prefix="SIM_", env_file=".env", extra="ignore", env_nested_delimiter="__")

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Where indexes, databases and other run-time files go. Never inside the source tree.",
    )
    scenarios_dir: Path = Field(
        default=REPO_ROOT / "scenarios", description="Folder of scenario packs (YAML) and exams."
    )
    knowledge_dir: Path = Field(
        default=REPO_ROOT / "knowledge", description="Folder of knowledge documents (Markdown)."
    )

    # Embeddings and retrieval
    embedder: str = Field(
        default="use",
        description="'use' (multilingual Universal Sentence Encoder, offline default), 'fake' (tests), "
        "or 'st:<model name or path>' for a sentence-transformers model.",
    )
    embedder_threads: int = Field(default=0, description="Threads for the USE embedder; 0 = CPU count.")
    chroma_url: str | None = Field(
        default=None, description="URL of a Chroma server (chroma run); unset = embedded PersistentClient."
    )
    collection: str = Field(default="knowledge", description="Chroma collection name (3+ characters).")

    # LLM (optional): any OpenAI-compatible endpoint
    llm_base_url: str | None = Field(default=None, description="OpenAI-compatible base URL; unset = offline.")
    llm_api_key: SecretStr = Field(default=SecretStr("not-needed"), description="API key for the endpoint.")
    llm_model: str = Field(default="gpt-4o-mini", description="Model name at the endpoint.")
    llm_timeout_s: float = Field(default=30.0, description="Per-request timeout in seconds.")
    llm_retries: int = Field(default=2, description="Retries with backoff on transient failures.")
    llm_temperature: float = Field(default=0.7, description="Sampling temperature for the customer.")

    # Grading
    rules_dir: Path = Field(
        default=REPO_ROOT / "scenarios" / "rules",
        description="Folder of the service-rule lexicons (zh-CN.yaml, en.yaml) the grader reads.",
    )
    pass_mark: float = Field(
        default=80.0, ge=0, le=100, description="Overall score a practice attempt needs to pass (exams set their own)."
    )
    judge_samples: int = Field(default=3, ge=1, le=9, description="LLM judge samples per criterion (majority).")
    calibration: Path | None = Field(
        default=None,
        description="Calibration profile (JSON, from `simulator calibrate`) that remaps the grader's scores to the "
        "shop's QA team; unset = the grader's own scores.",
    )

    # Web app
    host: str = Field(default="127.0.0.1", description="Address `simulator serve` binds to.")
    port: int = Field(default=8000, description="Port `simulator serve` binds to.")
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Server processes for `simulator serve` (one per core serves more trainees; each holds the "
        "embedder and index, ~0.4 GB).",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; unset = SQLite file in the data directory."
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Cookie-signing key; unset = generated once and kept in the data directory."
    )
    demo: bool = Field(default=True, description="Create demo accounts on first start.")
    locale: Literal["zh-CN", "en"] = Field(default="zh-CN", description="Default UI language.")
    max_message_chars: int = Field(default=2000, description="Longest trainee message accepted.")
    cjk_font: Path | None = Field(
        default=None,
        description="Font file (.ttf/.ttc) with Chinese glyphs for certificate PDFs; unset = the first installed of "
        "WenQuanYi Micro Hei (Debian fonts-wqy-microhei), WenQuanYi Zen Hei, Noto Sans CJK, Droid Sans Fallback.",
    )

    # Analytics (质培联动): imported real chats, problem types, plans and retests, xAPI
    timezone: str = Field(
        default="Asia/Shanghai",
        description="The shop's time zone: analytics days, retest dates, and imported chat times written without "
        "an offset (IANA name).",
    )
    problems: Thresholds = Field(
        default_factory=Thresholds,
        description="When a criterion is a problem and of which type (个体/共性/多发/突发); set one value as "
        "SIM_PROBLEMS__AGENT_RATE=0.4 — see docs/analytics.md.",
    )
    lrs_url: str | None = Field(
        default=None,
        description="xAPI Learning Record Store endpoint (…/xAPI/); unset = statements are kept, not sent.",
    )
    lrs_username: str = Field(default="", description="LRS HTTP Basic user name.")
    lrs_password: SecretStr = Field(default=SecretStr(""), description="LRS HTTP Basic password.")
    xapi_iri: str = Field(
        default="https://cs-simulator.invalid",
        description="Base IRI of this installation in xAPI statements (activity ids, the agents' account home page); "
        "set it to the server's public address.",
    )
    qa_workers: int = Field(
        default=1, ge=1, le=16, description="Processes `simulator qa` grades imported chats with (one per core)."
    )

    def ensure_data_dir(self) -> Path:
        """Create the data directory if needed and return it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir

    @property
    def index_dir(self) -> Path:
        """Folder of the embedded chromadb and keyword index."""
        return self.data_dir / "index"

    @property
    def sqlalchemy_url(self) -> str:
        """Database URL, defaulting to a SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'simulator.db'}"
