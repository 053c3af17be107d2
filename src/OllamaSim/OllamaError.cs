namespace OllamaSim;

/// <summary>A request Ollama would refuse, with the status and message it would answer; the endpoint writes it as <c>{"error": ...}</c>.</summary>
internal sealed class OllamaError(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
