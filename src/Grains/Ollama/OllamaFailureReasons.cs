using OrleansLlm.Telemetry;

namespace OrleansLlm.Ollama;

/// <summary>The <see cref="FailureReasons"/> class of an exception thrown by an Ollama call.</summary>
public static class OllamaFailureReasons
{
    public static string Of(Exception ex) => ex switch
    {
        TaskCanceledException { InnerException: TimeoutException } or TimeoutException => FailureReasons.Timeout,
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } => FailureReasons.OllamaUnreachable,
        HttpRequestException { StatusCode: { } status } when (int)status is >= 400 and < 500 => FailureReasons.OllamaHttp4xx,
        HttpRequestException { StatusCode: { } status } when (int)status >= 500 => FailureReasons.OllamaHttp5xx,
        OllamaResponseException or OllamaSharp.Models.Exceptions.OllamaException => FailureReasons.OllamaBadResponse,
        _ => FailureReasons.Error,
    };
}
