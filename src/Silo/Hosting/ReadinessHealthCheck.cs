using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OrleansLlm.Ollama;
using OrleansLlm.Options;
using OrleansLlm.Worker;

namespace OrleansLlm.Silo.Hosting;

/// <summary>
/// Ready means: the silo is active and its worker is taking work (not draining), and the Ollama beside it answers
/// and has the model. A load balancer or Kubernetes stops counting on the pod as soon as draining starts.
/// </summary>
/// <remarks>
/// Ollama's <c>/api/tags</c> lists every model as <c>name:tag</c>, so the model is looked up with its tag
/// (<see cref="OllamaOptions.TaggedModel"/>): <c>llama3.2</c> is found as <c>llama3.2:latest</c>. Names are compared
/// as Ollama compares them, ignoring case and the default registry's <c>registry.ollama.ai/library/</c> prefix.
/// </remarks>
public sealed class ReadinessHealthCheck(LocalWorkerState worker, IHttpClientFactory httpClients, IOptions<OllamaOptions> ollama) : IHealthCheck
{
    public const string HttpClientName = "ollama-health";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!worker.IsAccepting)
        {
            return HealthCheckResult.Unhealthy($"the worker is {worker.State?.ToString().ToLowerInvariant() ?? "not started"}");
        }

        if (worker.BackendProblem is { } problem)
        {
            // The worker's breaker is open: it leases nothing until its own probes see Ollama answer again.
            return HealthCheckResult.Unhealthy($"Ollama is failing, so the worker takes no work: {problem}");
        }

        var options = ollama.Value;
        try
        {
            var http = httpClients.CreateClient(HttpClientName);
            using var response = await http.GetAsync(new Uri(new Uri(options.Url), "/api/tags"), cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return HealthCheckResult.Unhealthy($"Ollama at {options.Url} answered HTTP {(int)response.StatusCode}");
            }

            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var tags = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
            return ListedModels(tags.RootElement).Any(name => ModelNames.Same(name, options.TaggedModel))
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"Ollama at {options.Url} does not have the model {options.TaggedModel} yet");
        }
        catch (JsonException ex)
        {
            return HealthCheckResult.Unhealthy($"Ollama at {options.Url} answered /api/tags with something that is not JSON: {ex.Message}");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return HealthCheckResult.Unhealthy($"Ollama at {options.Url} does not answer: {ex.Message}");
        }
    }

    // Each entry of "models" carries the name twice, as "name" and "model".
    private static IEnumerable<string> ListedModels(JsonElement tags)
    {
        if (tags.ValueKind != JsonValueKind.Object || !tags.TryGetProperty("models", out var models) || models.ValueKind != JsonValueKind.Array)
        {
            yield break;
        }

        foreach (var model in models.EnumerateArray().Where(m => m.ValueKind == JsonValueKind.Object))
        {
            foreach (var field in (string[])["name", "model"])
            {
                if (model.TryGetProperty(field, out var name) && name.ValueKind == JsonValueKind.String)
                {
                    yield return name.GetString()!;
                }
            }
        }
    }
}
