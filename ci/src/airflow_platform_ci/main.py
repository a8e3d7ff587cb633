"""The Dagger module: build, check, test, publish, deploy and run the Airflow platform.

Every function is thin: containers come from :mod:`image`, :mod:`service_containers`,
:mod:`helm_runner` and :mod:`k3s`, the commands they run from the table in :mod:`commands`, decisions
from the pure :mod:`helm` and :mod:`summary`.
"""

import json
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import dagger
from dagger import DefaultPath, Doc, Ignore, dag, function, object_type

from airflow_platform_ci import helm, helm_runner, k3s, service_containers
from airflow_platform_ci import image as images
from airflow_platform_ci.checks import StepRun, run_commands
from airflow_platform_ci.commands import (
    REPORTING_FUNCTIONS,
    REPORTS_DIR,
    TEST_FUNCTIONS,
    chart_check,
    commands_for,
)
from airflow_platform_ci.pins import AIRFLOW_VERSION, PYTHON_VERSION
from airflow_platform_ci.summary import StepResult, ensure_passed, gather_steps, render_report

FuncT = TypeVar("FuncT", bound=Callable[..., Any])

SOURCE_IGNORE = [
    "**/.venv",
    "**/__pycache__",
    ".git",
    "**/.ruff_cache",
    "**/.pytest_cache",
    "ci/sdk",
    "reports",
    "rendered",
    "build",
    "dist",
]
SMOKE_SCRIPT = "/opt/smoke/smoke.py"
SMOKE_SOURCE = Path(__file__).with_name("smoke.py")
SMOKE_DAG = "platform_smoke"
"""The DAG the e2e smoke test runs: shipped in the image's ``dags/``, checked by the DAG gate."""
CHECK_IMAGE = f"ghcr.io/acme/airflow:chart-check@sha256:{'0' * 64}"
"""The image reference the ``chart`` check renders with: any by-digest reference renders the same."""
E2E_NAMESPACE = helm.default_namespace("dev")


def as_check(func: FuncT) -> FuncT:
    """Apply ``dagger.check`` keeping the function's type (dagger-io 0.21.11's ``check`` returns a union).

    Goes *under* ``@function``: ``function`` reads the check mark when it decorates.
    """
    return cast(FuncT, dagger.check(func))


def never_cached(func: FuncT) -> FuncT:
    """Apply ``@function(cache="never")`` (dagger-io 0.21.11 accepts ``cache`` but its overloads omit it)."""
    decorate = cast(Callable[..., Callable[[FuncT], FuncT]], function)
    return decorate(cache="never")(func)


def results(runs: Sequence[StepRun]) -> list[StepResult]:
    """Return the results of ``runs``."""
    return [run.result for run in runs]


def admin_password(secrets_list: str) -> str:
    """Return the dev bootstrap user's password from the ``ephemeral-secrets`` List."""
    document = json.loads(secrets_list)
    (admin,) = [item for item in document["items"] if item["metadata"]["name"] == "airflow-dev-admin"]
    return str(admin["stringData"]["password"])


@object_type
class AirflowPlatform:
    """Build, test, publish and deploy the Airflow 3 platform (image, DAGs, plugins, Helm release)."""

    source: Annotated[
        dagger.Directory,
        DefaultPath("/"),
        Ignore(SOURCE_IGNORE),
        Doc("The repository; defaults to the root of the git repository holding this module."),
    ]

    @function
    def build(
        self,
        airflow_version: Annotated[
            str, Doc("Airflow version of the base image (build argument).")
        ] = AIRFLOW_VERSION,
        python_version: Annotated[
            str, Doc("Python version of the base image (build argument).")
        ] = PYTHON_VERSION,
    ) -> dagger.Container:
        """Build the custom Airflow image from image/Dockerfile (pinned base, dependency layers first)."""
        return images.build_image(self.source, airflow_version, python_version)

    async def _lint_runs(self) -> list[StepRun]:
        return await run_commands(images.lint_env(self.source), commands_for("lint"))

    async def _dag_check_runs(self) -> list[StepRun]:
        return await run_commands(images.image_env(self.build()), commands_for("dag_check"))

    async def _unit_runs(self) -> list[StepRun]:
        return await run_commands(images.test_env(self.source), commands_for("unit"))

    async def _integration_runs(self) -> list[StepRun]:
        container = service_containers.with_services(images.test_env(self.source))
        return await run_commands(container, commands_for("integration"))

    async def _chart_runs(self) -> list[StepRun]:
        pinned = await helm_runner.resolve_chart_images()
        existing = await helm_runner.values_present(self.source)
        renderer = helm_runner.helm_container(self.source, None)
        checker = images.lint_env(self.source)
        for env in helm.ENVIRONMENTS:
            plan = helm.pin_chart_images(
                helm.plan_deploy(env=env, image=CHECK_IMAGE, existing=existing), pinned
            )
            checker = images.with_rendered(checker, env, helm_runner.rendered(renderer, plan))
        return await run_commands(checker, commands_for("chart"))

    @function
    @as_check
    async def lint(self) -> str:
        """Lint: ruff check and format, hadolint, workflow schema, zizmor, yamllint of helm/, secret scan."""
        return ensure_passed(results(await self._lint_runs()))

    @function
    @as_check
    async def dag_check(self) -> str:
        """Run the DAG gate the image ships (dag-check) over dags/ inside the built image."""
        return ensure_passed(results(await self._dag_check_runs()))

    @function
    @as_check
    async def unit(self) -> str:
        """Run the unit tier (tests/unit) in a container prepared by scripts/setup."""
        return ensure_passed(results(await self._unit_runs()))

    @function
    @as_check
    async def integration(self) -> str:
        """Run the integration tier against Postgres, MinIO, MLflow and Redis service containers."""
        return ensure_passed(results(await self._integration_runs()))

    @function
    @as_check
    async def chart(self) -> str:
        """Render the official chart for every environment (helm template) and validate every object."""
        return ensure_passed(results(await self._chart_runs()))

    async def _all_runs(self) -> tuple[list[StepResult], list[StepRun]]:
        runs: list[StepRun] = []
        groups = {
            "lint": self._lint_runs,
            "dag_check": self._dag_check_runs,
            "unit": self._unit_runs,
            "integration": self._integration_runs,
            "chart": self._chart_runs,
        }

        def collecting(group: Callable[[], Any]) -> Callable[[], Any]:
            async def run() -> list[StepResult]:
                finished: list[StepRun] = await group()
                runs.extend(finished)
                return results(finished)

            return run

        gathered = await gather_steps({name: collecting(groups[name]) for name in TEST_FUNCTIONS})
        return gathered, runs

    @function
    async def test(self) -> str:
        """Run every check concurrently; fail with a summary table if any step failed."""
        gathered, _ = await self._all_runs()
        return ensure_passed(gathered)

    @function
    async def reports(self) -> dagger.Directory:
        """Return the JUnit XML and DAG-gate JSON of a test run, plus summary.md (for CI to upload)."""
        gathered, runs = await self._all_runs()
        out = dag.directory().with_new_file("summary.md", render_report(gathered) + "\n")
        for run in runs:
            if run.result.function in REPORTING_FUNCTIONS:
                out = out.with_directory(".", run.container.directory(REPORTS_DIR))
        return out

    @never_cached
    async def publish(
        self,
        registry: Annotated[str, Doc("Image repository without tag, e.g. ghcr.io/acme/airflow.")],
        username: Annotated[str, Doc("Registry user name.")],
        password: Annotated[dagger.Secret, Doc("Registry password or token, e.g. env:REGISTRY_TOKEN.")],
        tag: Annotated[str, Doc("Tag to push, e.g. the commit SHA.")],
    ) -> str:
        """Push the built image; return its reference by digest (what deploy --env=prod requires)."""
        ref = helm.parse_image(f"{registry}:{tag}")
        address = (
            await self.build().with_registry_auth(ref.repository, username, password).publish(ref.reference)
        )
        published = helm.parse_image(address)
        return f"{published.repository}@{published.digest}"

    @never_cached
    async def deploy(
        self,
        env: Annotated[str, Doc("Target environment: dev, staging or prod.")],
        image: Annotated[str, Doc("Image by digest (repo@sha256:...); a tag is refused for prod.")],
        kubeconfig: Annotated[
            dagger.Secret | None, Doc("Kubeconfig of the target cluster, e.g. env:KUBECONFIG_DATA.")
        ] = None,
        namespace: Annotated[str, Doc("Namespace; defaults to airflow-<env>.")] = "",
        release: Annotated[str, Doc("Helm release name.")] = helm.DEFAULT_RELEASE,
        wait: Annotated[bool, Doc("Wait for readiness and jobs; roll back a failed upgrade.")] = True,
        timeout: Annotated[str, Doc("Helm timeout, e.g. 10m.")] = helm.DEFAULT_TIMEOUT,
        history_max: Annotated[int, Doc("Release revisions Helm keeps.")] = helm.DEFAULT_HISTORY_MAX,
        dry_run: Annotated[bool, Doc("Render, check and diff only; never changes the cluster.")] = False,
    ) -> str:
        """Helm upgrade --install of the official chart with helm/values.yaml + helm/values-<env>.yaml.

        The request is validated first; the release is then rendered and checked (strict Kubernetes
        schemas, the network paths Airflow needs, images by digest) before anything is installed.
        """
        plan = helm.plan_deploy(
            env=env,
            image=image,
            existing=await helm_runner.values_present(self.source),
            namespace=namespace,
            release=release,
            wait=wait,
            timeout=timeout,
            history_max=history_max,
        )
        if kubeconfig is None and not dry_run:
            raise helm.DeployRefusedError("a kubeconfig is required unless --dry-run is set")
        plan = helm.pin_chart_images(plan, await helm_runner.resolve_chart_images())
        container = helm_runner.helm_container(self.source, kubeconfig)
        manifest = helm_runner.rendered(container, plan)
        ensure_passed(await self._check_rendered(plan.env, manifest))
        if dry_run or kubeconfig is None:
            rendered_text = await manifest.contents()
            live_text = await helm_runner.live_manifest(container, plan) if kubeconfig else ""
            return helm_runner.diff_report(plan, live_text, rendered_text)
        return await helm_runner.install(container, helm_runner.kubectl_container(kubeconfig), plan)

    async def _check_rendered(self, env: str, manifest: dagger.File) -> list[StepResult]:
        checker = images.with_rendered(images.lint_env(self.source), env, manifest)
        return results(await run_commands(checker, [chart_check(env)]))

    @never_cached
    async def rollback(
        self,
        env: Annotated[str, Doc("Environment whose release to roll back: dev, staging or prod.")],
        kubeconfig: Annotated[dagger.Secret, Doc("Kubeconfig of the target cluster.")],
        revision: Annotated[int, Doc("Revision to return to; 0 means the previous one.")] = 0,
        namespace: Annotated[str, Doc("Namespace; defaults to airflow-<env>.")] = "",
        release: Annotated[str, Doc("Helm release name.")] = helm.DEFAULT_RELEASE,
        timeout: Annotated[str, Doc("Helm timeout, e.g. 10m.")] = helm.DEFAULT_TIMEOUT,
    ) -> str:
        """Roll the release back to a previous revision and wait for it to be ready."""
        namespace = namespace or helm.default_namespace(helm.check_env(env))
        argv = helm.rollback_argv(release, namespace, revision, timeout=timeout)
        await helm_runner.remove_finished_jobs(helm_runner.kubectl_container(kubeconfig), release, namespace)
        return await helm_runner.run_helm(helm_runner.helm_container(self.source, kubeconfig), argv)

    @never_cached
    async def status(
        self,
        env: Annotated[str, Doc("Environment: dev, staging or prod.")],
        kubeconfig: Annotated[dagger.Secret, Doc("Kubeconfig of the target cluster.")],
        namespace: Annotated[str, Doc("Namespace; defaults to airflow-<env>.")] = "",
        release: Annotated[str, Doc("Helm release name.")] = helm.DEFAULT_RELEASE,
    ) -> str:
        """Show the release's status and its revision history (read-only)."""
        namespace = namespace or helm.default_namespace(helm.check_env(env))
        container = helm_runner.helm_container(self.source, kubeconfig)
        outputs = [
            await helm_runner.run_helm(container, argv) for argv in helm.status_argvs(release, namespace)
        ]
        return "\n".join(outputs)

    @never_cached
    async def cluster_e2e(
        self,
        smoke_dag: Annotated[
            str, Doc("DAG the smoke test triggers through the REST API (shipped in the image).")
        ] = SMOKE_DAG,
    ) -> str:
        """Deploy the built image into an ephemeral k3s and run a smoke DAG through the REST API."""
        run_id = secrets.token_hex(8)
        built = self.build()
        cluster = k3s.server(built, run_id)
        kubeconfig = await k3s.kubeconfig(cluster, run_id)
        secrets_list = await (
            helm_runner.live(images.lint_env(self.source))
            .with_exec(["uv", "run", "ephemeral-secrets", "--env", "dev", "--namespace", E2E_NAMESPACE])
            .stdout()
        )
        password = dag.set_secret(f"airflow-platform-e2e-admin-{run_id}", admin_password(secrets_list))
        kubectl = helm_runner.kubectl_container(kubeconfig).with_service_binding(k3s.ALIAS, cluster)
        applied = await (
            helm_runner.live(kubectl)
            .with_mounted_secret(
                "/run/secrets/ephemeral.json",
                dag.set_secret(f"airflow-platform-e2e-secrets-{run_id}", secrets_list),
            )
            .with_exec(["kubectl", "create", "namespace", E2E_NAMESPACE])
            .with_exec(["kubectl", "apply", "--filename", "/run/secrets/ephemeral.json"])
            .stdout()
        )
        plan = helm.plan_deploy(
            env="dev",
            image=k3s.E2E_IMAGE,
            existing=await helm_runner.values_present(self.source),
            namespace=E2E_NAMESPACE,
            timeout="20m",
            extra_values=(helm.E2E_VALUES,),
        )
        plan = helm.pin_chart_images(plan, await helm_runner.resolve_chart_images())
        installed = await helm_runner.install(
            helm_runner.helm_container(self.source, kubeconfig).with_service_binding(k3s.ALIAS, cluster),
            kubectl,
            plan,
        )
        smoke = await (
            helm_runner.live(built)
            .with_service_binding(k3s.ALIAS, cluster)
            .with_new_file(SMOKE_SCRIPT, SMOKE_SOURCE.read_text())
            .with_env_variable("AIRFLOW_API_URL", f"http://{k3s.ALIAS}:{k3s.API_SERVER_NODE_PORT}")
            .with_env_variable("AIRFLOW_USERNAME", helm.DEV_ADMIN_USERNAME)
            .with_secret_variable("AIRFLOW_PASSWORD", password)
            .with_env_variable("SMOKE_DAG_ID", smoke_dag)
            .with_exec(["python", SMOKE_SCRIPT])
            .stdout()
        )
        return f"{applied}\n{installed}\n{smoke}"

    @function
    def serve_image(
        self,
        port: Annotated[int, Doc("Port of the Airflow API server and UI.")] = 8080,
    ) -> dagger.Service:
        """Serve the built image as Airflow standalone with Postgres and dags/ (`serve-image up`)."""
        credentials = service_containers.service_secrets()
        return (
            self.build()
            .with_service_binding("postgres", service_containers.postgres(credentials))
            .with_secret_variable("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", credentials.postgres_url)
            .with_env_variable("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
            .with_env_variable("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
            .with_env_variable("AIRFLOW__API__PORT", str(port))
            .with_exposed_port(port)
            .as_service(args=["airflow", "standalone"], use_entrypoint=True)
        )
