using Microsoft.Extensions.Options;
using OrleansLlm.Options;

namespace OrleansLlm.Inference;

/// <summary>
/// The models this silo serves: what its Ollama lists (<c>/api/tags</c>), and always its own <c>Ollama:Model</c>, as
/// model keys (<see cref="ModelNames.Key"/>), read again every <see cref="WorkerOptions.ModelRefreshInterval"/>. The
/// worker leases only items of batches naming one of them (or none).
/// </summary>
/// <remarks>One per worker activation, which is single-threaded; nothing here is shared.</remarks>
public sealed class ServedModels(IInferenceBackend ollama, IOptions<WorkerOptions> options, TimeProvider time)
{
    private IReadOnlyCollection<string>? _models;
    private long _readAt;

    public async Task<IReadOnlyCollection<string>> GetAsync(CancellationToken cancellationToken)
    {
        if (_models is { } models && time.GetElapsedTime(_readAt) < options.Value.ModelRefreshInterval)
        {
            return models;
        }

        try
        {
            _models = [.. new[] { ollama.Model }.Concat(await ollama.ListModelsAsync(cancellationToken)).Select(ModelNames.Key).Distinct(StringComparer.Ordinal)];
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // Ollama did not answer (its breaker deals with that): keep what it listed last, or at least its own model.
            _models ??= [ModelNames.Key(ollama.Model)];
        }

        _readAt = time.GetTimestamp();
        return _models;
    }
}
