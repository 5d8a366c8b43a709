namespace LocalAgentService;

/// <summary>A client mistake or missing object, raised by the store or the protocol layer and written as the protocol's error body.</summary>
internal sealed class ServiceException(int status, string message, string? param = null, string? code = null, string type = "invalid_request_error")
    : Exception(message)
{
    public int Status { get; } = status;
    public string? Param { get; } = param;
    public string? Code { get; } = code;
    public string Type { get; } = type;

    public static ServiceException NotFound(string kind, string id) =>
        new(404, $"No {kind} found with id '{id}'.", code: "not_found");

    public static ServiceException Invalid(string message, string? param = null, string? code = null) =>
        new(400, message, param, code);
}
