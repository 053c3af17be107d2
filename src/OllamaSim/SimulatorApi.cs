namespace OllamaSim;

/// <summary>Which HTTP API the simulator speaks.</summary>
public enum SimulatorApi
{
    /// <summary>Ollama's <c>/api/*</c> routes (the default).</summary>
    Ollama,

    /// <summary>
    /// The OpenAI-compatible API of vLLM, SGLang and llama.cpp's server: <c>/v1/chat/completions</c>,
    /// <c>/v1/completions</c>, <c>/v1/models</c>, <c>/health</c> and <c>/metrics</c>; <c>/api/*</c> answers 404.
    /// </summary>
    OpenAI,
}
