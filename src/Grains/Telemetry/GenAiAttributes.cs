namespace OrleansLlm.Telemetry;

/// <summary>The OpenTelemetry semantic-convention attributes for GenAI clients that the silo sets on its calls to the model server.</summary>
public static class GenAiAttributes
{
    public const string OperationName = "gen_ai.operation.name";
    public const string ProviderName = "gen_ai.provider.name";
    public const string RequestModel = "gen_ai.request.model";
    public const string InputTokens = "gen_ai.usage.input_tokens";
    public const string OutputTokens = "gen_ai.usage.output_tokens";
    public const string TokenType = "gen_ai.token.type";
    public const string ServerAddress = "server.address";
    public const string ServerPort = "server.port";
    public const string ErrorType = "error.type";

    /// <summary>Ollama's <c>/api/generate</c>: a prompt in, a completion out.</summary>
    public const string TextCompletion = "text_completion";

    public const string Ollama = "ollama";

    /// <summary>A server speaking the OpenAI-compatible API (vLLM, llama.cpp's server, SGLang): no single vendor to name.</summary>
    public const string OpenAiCompatible = "openai_compatible";
}
