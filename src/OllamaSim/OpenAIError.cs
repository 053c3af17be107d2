namespace OllamaSim;

/// <summary>
/// A request refused the way vLLM refuses it, answered as <c>{"error":{"message","type","param","code"}}</c>
/// (vllm/entrypoints/serve/utils/error_response.py create_error_response).
/// </summary>
internal sealed class OpenAIError(int status, string type, string message, string? param = null) : Exception(message)
{
    public int Status { get; } = status;

    public string Type { get; } = type;

    public string? Param { get; } = param;

    /// <summary>
    /// A malformed body. vLLM's validation handler (exception_handling/handlers/validation.py) names the HTTP phrase as
    /// the type and the field as <c>body.field</c>; its message lists pydantic's errors, the simulator's says it in a line.
    /// </summary>
    public static OpenAIError BadRequest(string message, string? field = null) =>
        new(StatusCodes.Status400BadRequest, "Bad Request", message, field is null ? "body" : "body." + field);

    /// <summary>vLLM's OpenAIModelRegistry.check_model (entrypoints/openai/models/serving.py).</summary>
    public static OpenAIError ModelNotFound(string model) =>
        new(StatusCodes.Status404NotFound, "NotFoundError", $"The model `{model}` does not exist.", "model");
}
