namespace OrleansLlm.Inference;

/// <summary>
/// Thrown when the model server answers but the answer is unusable: Ollama's lacks <c>"done": true</c>, an
/// OpenAI-compatible server's has no choice or a shape its client cannot read.
/// </summary>
public sealed class BackendResponseException(string message, Exception? inner = null) : Exception(message, inner);
