// OpenAPIDocument: the OpenAPI 3 document of the whole HTTP API, served at GET /openapi.json; docs/openapi.json is
// this text (`sparse-tune serve --print-openapi > docs/openapi.json`), and a test keeps the two and the routes equal.

/// The OpenAPI 3 description of every route of ``InferenceServer``.
public enum OpenAPIDocument {
    /// The document, JSON.
    public static let json = #"""
{
  "components": {
    "schemas": {
      "Error": {
        "properties": {
          "error": {
            "type": "string"
          }
        },
        "required": [
          "error"
        ],
        "type": "object"
      },
      "InferRequest": {
        "properties": {
          "id": {
            "type": "string"
          },
          "inputs": {
            "items": {
              "properties": {
                "data": {
                  "description": "Flat row-major data (nested arrays are flattened): numbers for FP32, base64 strings for BYTES.",
                  "oneOf": [
                    {
                      "items": {
                        "type": "number"
                      },
                      "type": "array"
                    },
                    {
                      "items": {
                        "type": "string"
                      },
                      "type": "array"
                    },
                    {
                      "items": {},
                      "type": "array"
                    }
                  ]
                },
                "datatype": {
                  "enum": [
                    "FP32",
                    "BYTES"
                  ],
                  "type": "string"
                },
                "name": {
                  "type": "string"
                },
                "parameters": {
                  "$ref": "#/components/schemas/Parameters"
                },
                "shape": {
                  "items": {
                    "minimum": 0,
                    "type": "integer"
                  },
                  "type": "array"
                }
              },
              "required": [
                "name",
                "shape",
                "datatype",
                "data"
              ],
              "type": "object"
            },
            "maxItems": 1,
            "minItems": 1,
            "type": "array"
          },
          "outputs": {
            "items": {
              "properties": {
                "name": {
                  "enum": [
                    "logits",
                    "probabilities"
                  ],
                  "type": "string"
                },
                "parameters": {
                  "$ref": "#/components/schemas/Parameters"
                }
              },
              "required": [
                "name"
              ],
              "type": "object"
            },
            "type": "array"
          },
          "parameters": {
            "$ref": "#/components/schemas/Parameters"
          }
        },
        "required": [
          "inputs"
        ],
        "type": "object"
      },
      "InferResponse": {
        "properties": {
          "id": {
            "type": "string"
          },
          "model_name": {
            "type": "string"
          },
          "outputs": {
            "items": {
              "properties": {
                "data": {
                  "description": "Flat row-major data (nested arrays are flattened): numbers for FP32, base64 strings for BYTES.",
                  "oneOf": [
                    {
                      "items": {
                        "type": "number"
                      },
                      "type": "array"
                    },
                    {
                      "items": {
                        "type": "string"
                      },
                      "type": "array"
                    },
                    {
                      "items": {},
                      "type": "array"
                    }
                  ]
                },
                "datatype": {
                  "type": "string"
                },
                "name": {
                  "type": "string"
                },
                "shape": {
                  "items": {
                    "type": "integer"
                  },
                  "type": "array"
                }
              },
              "required": [
                "name",
                "shape",
                "datatype",
                "data"
              ],
              "type": "object"
            },
            "type": "array"
          }
        },
        "required": [
          "model_name",
          "outputs"
        ],
        "type": "object"
      },
      "ModelMetadata": {
        "properties": {
          "inputs": {
            "items": {
              "$ref": "#/components/schemas/TensorMetadata"
            },
            "type": "array"
          },
          "labels": {
            "description": "Class names, when the task file has them.",
            "items": {
              "type": "string"
            },
            "type": "array"
          },
          "method": {
            "description": "The task's fine-tuning method.",
            "type": "string"
          },
          "name": {
            "type": "string"
          },
          "outputs": {
            "items": {
              "$ref": "#/components/schemas/TensorMetadata"
            },
            "type": "array"
          },
          "path": {
            "description": "The task file.",
            "type": "string"
          },
          "platform": {
            "type": "string"
          },
          "versions": {
            "items": {
              "type": "string"
            },
            "type": "array"
          }
        },
        "required": [
          "name",
          "versions",
          "platform",
          "inputs",
          "outputs",
          "method",
          "path"
        ],
        "type": "object"
      },
      "Parameters": {
        "additionalProperties": true,
        "properties": {
          "classification": {
            "description": "Classification extension: the top classes as \"value:index:label\" strings.",
            "minimum": 1,
            "type": "integer"
          }
        },
        "type": "object"
      },
      "PredictResponse": {
        "properties": {
          "task": {
            "type": "string"
          },
          "top": {
            "items": {
              "$ref": "#/components/schemas/RankedClass"
            },
            "type": "array"
          }
        },
        "required": [
          "task",
          "top"
        ],
        "type": "object"
      },
      "RankedClass": {
        "properties": {
          "index": {
            "type": "integer"
          },
          "label": {
            "type": "string"
          },
          "probability": {
            "type": "number"
          },
          "score": {
            "description": "The logit.",
            "type": "number"
          }
        },
        "required": [
          "index",
          "label",
          "probability",
          "score"
        ],
        "type": "object"
      },
      "RepositoryEntry": {
        "properties": {
          "name": {
            "type": "string"
          },
          "reason": {
            "type": "string"
          },
          "state": {
            "enum": [
              "READY",
              "UNAVAILABLE"
            ],
            "type": "string"
          }
        },
        "required": [
          "name",
          "state",
          "reason"
        ],
        "type": "object"
      },
      "ServerMetadata": {
        "properties": {
          "extensions": {
            "items": {
              "type": "string"
            },
            "type": "array"
          },
          "name": {
            "type": "string"
          },
          "version": {
            "type": "string"
          }
        },
        "required": [
          "name",
          "version",
          "extensions"
        ],
        "type": "object"
      },
      "TensorMetadata": {
        "properties": {
          "datatype": {
            "type": "string"
          },
          "name": {
            "type": "string"
          },
          "shape": {
            "items": {
              "type": "integer"
            },
            "type": "array"
          }
        },
        "required": [
          "name",
          "datatype",
          "shape"
        ],
        "type": "object"
      }
    }
  },
  "info": {
    "description": "Sparse-Tuning tasks on one shared frozen ViT backbone, over the Open Inference Protocol (KServe v2) with the classification and model-repository extensions. Every error is {\"error\": \"...\"} with its status; an unknown route is 404. Every response carries X-Request-Id (the client's, or a new one).",
    "title": "sparse-tune serve",
    "version": "1"
  },
  "openapi": "3.0.3",
  "paths": {
    "/metrics": {
      "get": {
        "operationId": "metrics",
        "responses": {
          "200": {
            "content": {
              "text/plain": {
                "schema": {
                  "type": "string"
                }
              }
            },
            "description": "Prometheus text exposition."
          }
        },
        "summary": "Prometheus metrics: requests by task and status, latency, batch sizes and durations, queue depth."
      }
    },
    "/openapi.json": {
      "get": {
        "operationId": "openapi",
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            },
            "description": "OpenAPI 3 document."
          }
        },
        "summary": "This document."
      }
    },
    "/v1/tasks/{task}/predict": {
      "post": {
        "operationId": "predictImage",
        "parameters": [
          {
            "description": "Task name (given with --task NAME=file or a repository load).",
            "in": "path",
            "name": "task",
            "required": true,
            "schema": {
              "pattern": "^[A-Za-z0-9._-]{1,64}$",
              "type": "string"
            }
          },
          {
            "description": "Classes to return (default 5).",
            "in": "query",
            "name": "top",
            "required": false,
            "schema": {
              "default": 5,
              "minimum": 1,
              "type": "integer"
            }
          }
        ],
        "requestBody": {
          "content": {
            "application/octet-stream": {
              "schema": {
                "format": "binary",
                "type": "string"
              }
            },
            "image/jpeg": {
              "schema": {
                "format": "binary",
                "type": "string"
              }
            },
            "image/png": {
              "schema": {
                "format": "binary",
                "type": "string"
              }
            }
          },
          "required": true
        },
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/PredictResponse"
                }
              }
            },
            "description": "The top classes, best first."
          },
          "400": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "Not a decodable JPEG or PNG, or a bad top."
          },
          "404": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "No such task is loaded."
          },
          "413": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "The body is larger than --max-body-mb."
          },
          "415": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "The Content-Type is not image/jpeg, image/png or application/octet-stream."
          },
          "422": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "The image gives non-finite logits."
          },
          "503": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "The request queue is full (Retry-After says when to retry) or the server is shutting down.",
            "headers": {
              "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {
                  "type": "integer"
                }
              }
            }
          },
          "504": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "The request waited past --timeout-s in the queue."
          }
        },
        "summary": "The top classes of one encoded image (the request body), preprocessed as the task was evaluated."
      }
    },
    "/v2": {
      "get": {
        "operationId": "serverMetadata",
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ServerMetadata"
                }
              }
            },
            "description": "Name, version and extensions."
          }
        },
        "summary": "Server metadata (Open Inference Protocol)."
      }
    },
    "/v2/health/live": {
      "get": {
        "operationId": "serverLive",
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "properties": {
                    "live": {
                      "type": "boolean"
                    }
                  },
                  "required": [
                    "live"
                  ],
                  "type": "object"
                }
              }
            },
            "description": "The server is live."
          }
        },
        "summary": "Liveness."
      }
    },
    "/v2/health/ready": {
      "get": {
        "operationId": "serverReady",
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "properties": {
                    "ready": {
                      "type": "boolean"
                    }
                  },
                  "required": [
                    "ready"
                  ],
                  "type": "object"
                }
              }
            },
            "description": "The server accepts inference requests."
          }
        },
        "summary": "Readiness."
      }
    },
    "/v2/models/{task}": {
      "get": {
        "operationId": "modelMetadata",
        "parameters": [
          {
            "description": "Task name (given with --task NAME=file or a repository load).",
            "in": "path",
            "name": "task",
            "required": true,
            "schema": {
              "pattern": "^[A-Za-z0-9._-]{1,64}$",
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ModelMetadata"
                }
              }
            },
            "description": "The task's metadata."
          },
          "404": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "No such task is loaded."
          }
        },
        "summary": "A task's inputs and outputs."
      }
    },
    "/v2/models/{task}/infer": {
      "post": {
        "operationId": "modelInfer",
        "parameters": [
          {
            "description": "Task name (given with --task NAME=file or a repository load).",
            "in": "path",
            "name": "task",
            "required": true,
            "schema": {
              "pattern": "^[A-Za-z0-9._-]{1,64}$",
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/InferRequest"
              }
            }
          },
          "required": true
        },
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/InferResponse"
                }
              }
            },
            "description": "One output per requested output (logits by default)."
          },
          "400": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "Invalid JSON, data not matching its shape, bad base64 or an undecodable image, unknown output."
          },
          "404": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "No such task is loaded."
          },
          "413": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "The body is larger than --max-body-mb."
          },
          "415": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "The Content-Type is not application/json."
          },
          "422": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "Valid JSON, but a shape or datatype the task does not take."
          },
          "503": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "The request queue is full (Retry-After says when to retry) or the server is shutting down.",
            "headers": {
              "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {
                  "type": "integer"
                }
              }
            }
          },
          "504": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "The request waited past --timeout-s in the queue."
          }
        },
        "summary": "Inference: one FP32 input (B, 3, S, S), already normalised, or one BYTES input of base64 JPEG/PNG images; outputs logits and/or probabilities, optionally as the top classes (classification extension)."
      }
    },
    "/v2/models/{task}/ready": {
      "get": {
        "operationId": "modelReady",
        "parameters": [
          {
            "description": "Task name (given with --task NAME=file or a repository load).",
            "in": "path",
            "name": "task",
            "required": true,
            "schema": {
              "pattern": "^[A-Za-z0-9._-]{1,64}$",
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "properties": {
                    "name": {
                      "type": "string"
                    },
                    "ready": {
                      "type": "boolean"
                    }
                  },
                  "required": [
                    "name",
                    "ready"
                  ],
                  "type": "object"
                }
              }
            },
            "description": "The task is ready."
          },
          "404": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "No such task is loaded."
          }
        },
        "summary": "Whether a task is loaded and ready."
      }
    },
    "/v2/repository/index": {
      "post": {
        "operationId": "repositoryIndex",
        "requestBody": {
          "content": {
            "application/json": {
              "schema": {
                "properties": {
                  "ready": {
                    "description": "Only ready tasks.",
                    "type": "boolean"
                  }
                },
                "type": "object"
              }
            }
          },
          "required": false
        },
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "items": {
                    "$ref": "#/components/schemas/RepositoryEntry"
                  },
                  "type": "array"
                }
              }
            },
            "description": "The index."
          },
          "400": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "Invalid JSON."
          },
          "413": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "The body is too large."
          },
          "415": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "The Content-Type is not application/json."
          }
        },
        "summary": "Every task name known: loaded (READY) or not (UNAVAILABLE, with the reason)."
      }
    },
    "/v2/repository/models/{task}/load": {
      "post": {
        "operationId": "repositoryLoad",
        "parameters": [
          {
            "description": "Task name (given with --task NAME=file or a repository load).",
            "in": "path",
            "name": "task",
            "required": true,
            "schema": {
              "pattern": "^[A-Za-z0-9._-]{1,64}$",
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "content": {
            "application/json": {
              "schema": {
                "properties": {
                  "parameters": {
                    "properties": {
                      "path": {
                        "description": "Task file (.safetensors); optional when reloading a known task.",
                        "type": "string"
                      }
                    },
                    "type": "object"
                  }
                },
                "type": "object"
              }
            }
          },
          "required": false
        },
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            },
            "description": "Loaded."
          },
          "400": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "Invalid JSON or name, or a task file that does not load on this backbone (the message names the file and the problem)."
          },
          "404": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "An unknown task without a path."
          },
          "413": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "The body is too large."
          },
          "415": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "The Content-Type is not application/json."
          }
        },
        "summary": "Loads (or reloads) a task from a task file on the server's disk; the old version serves until the new one is complete."
      }
    },
    "/v2/repository/models/{task}/unload": {
      "post": {
        "operationId": "repositoryUnload",
        "parameters": [
          {
            "description": "Task name (given with --task NAME=file or a repository load).",
            "in": "path",
            "name": "task",
            "required": true,
            "schema": {
              "pattern": "^[A-Za-z0-9._-]{1,64}$",
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            },
            "description": "Unloaded."
          },
          "404": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "No such task is loaded."
          }
        },
        "summary": "Stops serving a task (requests in flight finish)."
      }
    }
  },
  "servers": [
    {
      "url": "http://127.0.0.1:8080"
    }
  ]
}
"""#
}
