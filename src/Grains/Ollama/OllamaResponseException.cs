namespace OrleansLlm.Ollama;

/// <summary>Thrown when Ollama answers but the answer is unusable, e.g. it lacks <c>"done": true</c>.</summary>
public sealed class OllamaResponseException(string message) : Exception(message);
