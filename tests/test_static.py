"""The static files as a deployment serves them: collected into one folder with
hashed names (WhiteNoise's manifest storage, DEBUG off), which fails when a
vendored file names one that is not there (a source map, say)."""

from django.core.management import call_command
from django.test import override_settings

PRODUCTION_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_collectstatic_with_the_production_storage_finds_every_file_the_vendored_ones_name(tmp_path, settings):
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": PRODUCTION_STORAGE}}
    with override_settings(STORAGES=storages, STATIC_ROOT=tmp_path):
        call_command("collectstatic", interactive=False, verbosity=0)
    manifest = (tmp_path / "staticfiles.json").read_text()
    assert "vendor/chartjs/chart.umd.js" in manifest
    assert "vendor/bootstrap/bootstrap.min.css" in manifest
