using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OrleansLlm.Inference;
using OrleansLlm.Ollama;
using OrleansLlm.Options;
using OrleansLlm.Worker;

namespace OrleansLlm.Silo.Hosting;

/// <summary>
/// Ready means: the silo is active and its worker is taking work (not draining, its breaker closed), and the Ollama
/// beside it answers and has the model. A load balancer or Kubernetes stops counting on the pod as soon as draining starts.
/// </summary>
/// <remarks>
/// Each part is a named check in the result's data (<see cref="ReadinessCheck"/>), so <c>/readyz</c> says which
/// failed and why (<see cref="ReadinessResponse"/>): not active, draining, Ollama failing, Ollama unreachable, or
/// model missing. Ollama's <c>/api/tags</c> lists every model as <c>name:tag</c>; names are compared as Ollama
/// compares them (<see cref="ModelNames.Same"/>), so <c>llama3.2</c> is found as <c>llama3.2:latest</c>.
/// </remarks>
public sealed class ReadinessHealthCheck(LocalWorkerState worker, IHttpClientFactory httpClients, IOptions<OllamaOptions> ollama) : IHealthCheck
{
    public const string HttpClientName = "ollama-health";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var checks = new List<ReadinessCheck> { CheckWorker(), CheckBreaker() };
        checks.AddRange(await CheckOllamaAsync(cancellationToken));
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

    // The worker's breaker is open: it leases nothing until its own probes see Ollama answer again.
    private ReadinessCheck CheckBreaker() => worker.BackendProblem is { } problem
        ? ReadinessCheck.Fail("breaker", $"Ollama failing: the worker takes no work until it answers again ({problem})")
        : ReadinessCheck.Pass("breaker");

    /// <summary>The "ollama" check (it answers) and the "model" check (it has the model).</summary>
    private async Task<ReadinessCheck[]> CheckOllamaAsync(CancellationToken cancellationToken)
    {
        var url = ollama.Value.Url;
        string tags;
        try
        {
            var http = httpClients.CreateClient(HttpClientName);
            using var response = await http.GetAsync(new Uri(new Uri(url), "/api/tags"), cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return Unreachable($"Ollama at {url} answered HTTP {(int)response.StatusCode}");
            }

            tags = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return Unreachable($"Ollama at {url} does not answer: {ex.Message}");
        }

        return
        [
            ReadinessCheck.Pass("ollama"),
            HasModel(tags)
                ? ReadinessCheck.Pass("model")
                : ReadinessCheck.Fail("model", $"model missing: Ollama at {url} does not have the model {ollama.Value.TaggedModel} yet"),
        ];

        static ReadinessCheck[] Unreachable(string reason) =>
            [ReadinessCheck.Fail("ollama", $"Ollama unreachable: {reason}"), ReadinessCheck.Fail("model", "unknown while Ollama does not answer")];
    }

    /// <summary>Whether the <c>/api/tags</c> answer lists the configured model; each entry carries it as "name" and "model".</summary>
    private bool HasModel(string tags)
    {
        try
        {
            using var doc = JsonDocument.Parse(tags);
            return doc.RootElement.TryGetProperty("models", out var models) && models.ValueKind == JsonValueKind.Array
                && models.EnumerateArray().Where(m => m.ValueKind == JsonValueKind.Object)
                    .SelectMany(m => new[] { "name", "model" }.Select(f => m.TryGetProperty(f, out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null))
                    .Any(name => name is not null && ModelNames.Same(name, ollama.Value.TaggedModel));
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
