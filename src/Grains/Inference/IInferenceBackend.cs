namespace OrleansLlm.Inference;

/// <summary>
/// The model server beside this silo, as the worker uses it: one question at a time, the models it serves, and a
/// health probe. Everything above this seam (leases, settling, results, tokens, structured output, model routing) is
/// the same whatever answers: Ollama's native API (<see cref="Ollama.OllamaBackend"/>) or an OpenAI-compatible server
/// (vLLM, llama.cpp's <c>llama-server</c>, SGLang). <c>Backend:Kind</c> picks one per silo.
/// </summary>
public interface IInferenceBackend
{
    /// <summary>The model this silo serves by default, as the backend names it.</summary>
    string Model { get; }

    /// <summary>The server's base URL, for logs, spans and metrics.</summary>
    Uri Url { get; }

    /// <summary>Asks one question, never streamed.</summary>
    /// <exception cref="HttpRequestException">The server refused or could not be reached.</exception>
    Task<Generation> GenerateAsync(InferenceRequest request, CancellationToken cancellationToken);

    /// <summary>The models the server has, as it names them.</summary>
    Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Checks that the server lists the model and answers a one-token request: what a broken backend (down, out of
    /// memory, without its model) fails, and a working one passes however busy it is.
    /// </summary>
    Task<BackendProbe> ProbeAsync(CancellationToken cancellationToken);
}
