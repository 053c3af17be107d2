namespace OrleansLlm.Options;

/// <summary>Which API the model server beside a silo speaks (<see cref="BackendOptions.Kind"/>).</summary>
public enum BackendKind
{
    /// <summary>Ollama's own API (<c>/api/generate</c>, <c>/api/chat</c>, <c>/api/tags</c>), configured in the <c>Ollama</c> section.</summary>
    Ollama,

    /// <summary>
    /// The OpenAI-compatible API (<c>/v1/chat/completions</c>, <c>/v1/models</c>) of vLLM, llama.cpp's
    /// <c>llama-server</c> or SGLang, configured in the <c>Backend</c> section, with the server's queue read from its <c>/metrics</c>.
    /// </summary>
    OpenAi,
}
