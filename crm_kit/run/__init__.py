"""Running the cycle: the run plan, the papermill runner and the HTML report.

``plan``
    run files read, layered and validated before anything runs (:func:`load_run_plan`);
``runner``
    the notebooks executed into a new run folder, side by side where steps allow (:func:`run_cycle`);
``kernels``
    the next steps' kernels started and warmed while earlier steps run (:class:`~crm_kit.run.kernels.WarmKernels`);
``html``
    the self-contained report page (:func:`build_html_report`), each notebook rendered as its step finishes;

:func:`student_copy` (student copies with checked blanks) is re-exported from :mod:`crm_kit.teaching`, which
sits beside the notebooks' content, not under the runner.
"""

from .html import build_html_report
from .plan import RunPlan, Step, load_run_plan
from .runner import RunFailed, run_cycle
from ..teaching import student_copy

__all__ = ["RunPlan", "Step", "load_run_plan", "RunFailed", "run_cycle", "build_html_report", "student_copy"]
