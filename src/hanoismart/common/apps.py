from django.apps import AppConfig
from django.contrib.staticfiles.apps import StaticFilesConfig as BaseStaticFilesConfig


class CommonConfig(AppConfig):
    default = True  # this module also holds the static files config below
    name = "hanoismart.common"
    label = "common"
    verbose_name = "Common"


class StaticFilesConfig(BaseStaticFilesConfig):
    """Django's static files, leaving out the vendor builds no page loads: ECharts ships a dozen builds with
    their source maps (50 MB, tripled by hashing); the pages use ``echarts.min.js`` only."""

    # Matched against each file's name (Django's finders list paths relative to each folder).
    ignore_patterns = [
        *BaseStaticFilesConfig.ignore_patterns,
        "echarts.js",
        "echarts.common*",
        "echarts.esm*",
        "echarts.simple*",
        "echarts.js.map",
        "bmap*",
        "dataTool*",
    ]
