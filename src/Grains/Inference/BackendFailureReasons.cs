using System.ClientModel;
using OrleansLlm.Telemetry;

namespace OrleansLlm.Inference;

/// <summary>The <see cref="FailureReasons"/> class of an exception thrown by a call to the model server.</summary>
/// <remarks>
/// The reasons keep their <c>ollama_*</c> names whatever the backend: they are the values of a metric label that
/// dashboards and alerts already select on. The OpenAI-compatible backend turns its SDK's
/// <see cref="ClientResultException"/> into an <see cref="HttpRequestException"/> itself; the SDK's type is known
/// here too so that one escaping that translation is still classed by its status.
/// </remarks>
public static class BackendFailureReasons
{
    public static string Of(Exception ex) => ex switch
    {
        TaskCanceledException { InnerException: TimeoutException } or TimeoutException => FailureReasons.Timeout,
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } => FailureReasons.OllamaUnreachable,
        HttpRequestException { StatusCode: { } status } => OfStatus((int)status),
        ClientResultException { Status: > 0 } result => OfStatus(result.Status),
        ClientResultException { InnerException: HttpRequestException inner } => Of(inner),
        BackendResponseException or OllamaSharp.Models.Exceptions.OllamaException => FailureReasons.OllamaBadResponse,
        _ => FailureReasons.Error,
    };

    private static string OfStatus(int status) => status switch
    {
        >= 400 and < 500 => FailureReasons.OllamaHttp4xx,
        >= 500 => FailureReasons.OllamaHttp5xx,
        _ => FailureReasons.Error,
    };
}
