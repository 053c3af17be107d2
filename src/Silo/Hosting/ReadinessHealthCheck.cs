using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OrleansLlm.Inference;
using OrleansLlm.Options;
using OrleansLlm.Worker;

namespace OrleansLlm.Silo.Hosting;

/// <summary>
/// Ready means: the silo is active and its worker is taking work (not draining, its breaker closed), and the model
/// server beside it (Ollama or an OpenAI-compatible one, <c>Backend:Kind</c>) answers and has the model. A load balancer
/// or Kubernetes stops counting on the pod as soon as draining starts.
/// </summary>
/// <remarks>
/// Each part is a named check in the result's data (<see cref="ReadinessCheck"/>), so <c>/readyz</c> says which
/// failed and why (<see cref="ReadinessResponse"/>): not active, draining, the server failing, unreachable, or the
/// model missing. The server's list of models comes from the backend itself (<see cref="IInferenceBackend.ListModelsAsync"/>:
/// Ollama's <c>/api/tags</c>, <c>/v1/models</c>); names are compared as Ollama compares them (<see cref="ModelNames.Same"/>),
/// so <c>llama3.2</c> is found as <c>llama3.2:latest</c>. The server's check keeps the name <c>ollama</c>, which
/// operators' tooling already reads.
/// </remarks>
public sealed class ReadinessHealthCheck(LocalWorkerState worker, IInferenceBackend backend, IOptions<BackendOptions> backendOptions) : IHealthCheck
{
    // A readiness probe must answer quickly, whatever the backend's own probe timeout.
    private static readonly TimeSpan ListTimeout = TimeSpan.FromSeconds(3);

    private string Server => backendOptions.Value.ServerName;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var checks = new List<ReadinessCheck> { CheckWorker(), CheckBreaker() };
        checks.AddRange(await CheckServerAsync(cancellationToken));
        var data = checks.ToDictionary(c => c.Name, c => (object)c);
        var failed = checks.Where(c => !c.Ok).Select(c => c.Reason).ToArray();
        return failed.Length == 0
            ? HealthCheckResult.Healthy(data: data)
            : HealthCheckResult.Unhealthy(string.Join("; ", failed), data: data);
    }

    private ReadinessCheck CheckWorker() => worker.State switch
    {
        WorkerState.Active => ReadinessCheck.Pass("worker"),
        null => ReadinessCheck.Fail("worker", "not active: the worker has not started yet (the silo is still joining the cluster)"),
        WorkerState.Draining => ReadinessCheck.Fail("worker", "draining: the worker takes no new work and hands back what it can't finish"),
        WorkerState.Drained => ReadinessCheck.Fail("worker", "drained: the worker takes no work"),
        var state => ReadinessCheck.Fail("worker", $"{state}: the worker takes no work"),
    };

    // The worker's breaker is open: it leases nothing until its own probes see the server answer again.
    private ReadinessCheck CheckBreaker() => worker.BackendProblem is { } problem
        ? ReadinessCheck.Fail("breaker", $"{Capitalised(Server)} failing: the worker takes no work until it answers again ({problem})")
        : ReadinessCheck.Pass("breaker");

    /// <summary>The "ollama" check (the server answers) and the "model" check (it has the model).</summary>
    private async Task<ReadinessCheck[]> CheckServerAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<string> models;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ListTimeout);
            models = await backend.ListModelsAsync(timeout.Token);
        }
        catch (HttpRequestException ex) when (ex.StatusCode is { } status)
        {
            return Unreachable($"{Server} at {backend.Url} answered HTTP {(int)status}");
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or BackendResponseException && !cancellationToken.IsCancellationRequested)
        {
            return Unreachable($"{Server} at {backend.Url} does not answer: {ex.Message}");
        }

        return
        [
            ReadinessCheck.Pass("ollama"),
            models.Any(name => ModelNames.Same(name, backend.Model))
                ? ReadinessCheck.Pass("model")
                : ReadinessCheck.Fail("model", $"model missing: {Server} at {backend.Url} does not have the model {backend.Model} yet"),
        ];

        ReadinessCheck[] Unreachable(string reason) =>
            [ReadinessCheck.Fail("ollama", $"{Capitalised(Server)} unreachable: {reason}"), ReadinessCheck.Fail("model", $"unknown while {Server} does not answer")];
    }

    private static string Capitalised(string name) => char.ToUpperInvariant(name[0]) + name[1..];
}
